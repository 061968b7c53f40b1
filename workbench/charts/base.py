"""The one chart base class: a ``QWidget`` that paints an image of a standalone
matplotlib ``Figure`` (never pyplot), drawn off the GUI thread by a ``FigureCanvasAgg``.

A full matplotlib draw costs ~130 ms for the two-line training chart and ~480 ms for an
annotated 10x10 confusion matrix here, far over the GUI thread's ~30 ms budget. So the
GUI thread never draws:

* A subclass keeps its data as plain Python on the GUI thread, returns a copy of it from
  :meth:`ChartCanvas.state` and calls :meth:`ChartCanvas.changed` when it changes.
* :meth:`draw_idle` hands that copy, the widget's size and its device pixel ratio to a
  job on the app's thread pool (:mod:`workbench.workers.pool`). It rebuilds the artists
  with :meth:`ChartCanvas.build` and draws them with the figure's own
  ``FigureCanvasAgg`` (not the widget: the widget is no matplotlib canvas, so nothing a
  draw does can reach a Qt call), and sends back the RGBA pixels plus the main axes'
  geometry (plain data). The GUI thread only paints that image.
* The pool never sees the widget either: :meth:`build` runs with a stand-in for ``self``
  (:class:`_BuildView`) that holds the figure and a copy of the chart's plain attributes,
  so a render thread touches no Qt object.
* At most one render per chart is in flight; changes that arrive meanwhile are coalesced
  into one more render when it ends (the draw_idle contract: once per epoch at most).
* :data:`_DRAW_LOCK` lets one figure draw at a time, app-wide: matplotlib is not
  thread-safe, and Agg drawing is GIL-bound anyway, so nothing is lost.

:meth:`draw` still draws synchronously, on the calling thread, as every matplotlib
canvas does: tests call it before reading artists ("``draw_idle`` gives no guarantee"),
and it waits for an in-flight render first, so no other thread is drawing while they read.

Subclasses that need clicks map widget positions with :meth:`data_at`, from the geometry
of the image on screen, never by asking the figure.
"""
from __future__ import annotations

import inspect
import logging
import sys
import textwrap
import threading
import types

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget
from shiboken6 import Shiboken

from workbench.workers.job_runner import JobRunner
from workbench.workers.pool import PoolWorker

log = logging.getLogger(__name__)

_DRAW_LOCK = threading.Lock()

# A window being dragged to a new size sends dozens of resize events: re-render once it
# settles, and scale the last image meanwhile.
_RESIZE_SETTLE_MS = 60


# Agg's RGBA bytes in the order of Qt's native ARGB32 (a 0xAARRGGBB word in memory).
_ARGB32_ORDER = [2, 1, 0, 3] if sys.byteorder == "little" else [3, 0, 1, 2]


def premultiplied_argb32(rgba: np.ndarray) -> np.ndarray:
    """A copy of Agg's (straight-alpha) RGBA pixels as ``Format_ARGB32_Premultiplied``,
    the raster engine's own format: made once on the pool thread, so a paint copies the
    image instead of converting every line of it at every repaint (a chart's paint took
    0.32-0.39 ms a 1200x400 image with RGBA8888, 0.23-0.26 with this, median)."""
    pixels = np.empty(rgba.shape, np.uint8)   # C-contiguous, as QImage needs
    np.take(rgba, _ARGB32_ORDER, axis=2, out=pixels)
    alpha = pixels[..., 3]
    if alpha.min() < 255:   # a transparent figure; opaque pixels stay as they are
        color = pixels[..., :3].astype(np.uint16) * alpha[..., None]
        pixels[..., :3] = ((color + 127) // 255).astype(np.uint8)
    return pixels


class _Renderer:
    """The figure, its Agg canvas and what was last built on it (plain Python; used
    under :data:`_DRAW_LOCK` only, on a pool thread or in :meth:`ChartCanvas.draw`)."""

    def __init__(self, figure: Figure, rebuild_on_resize: bool) -> None:
        self.figure = figure
        self.agg = FigureCanvasAgg(figure)   # becomes figure.canvas
        self.rebuild_on_resize = rebuild_on_resize
        self.built_version = -1
        self.built_size: tuple | None = None
        self.axes = None

    def render(self, view: "_BuildView", state: dict, version: int, width: int, height: int,
               ratio: float) -> dict:
        """Draw the figure into pixels. Caller holds _DRAW_LOCK; any thread."""
        fig = self.figure
        # Size first, so build() can fit its content to the pixels it gets.
        self.agg._set_device_pixel_ratio(ratio)   # scales the figure's dpi, as Qt's canvas does
        fig.set_size_inches(width / fig.dpi, height / fig.dpi, forward=False)
        resized = self.rebuild_on_resize and self.built_size != (width, height)
        # A render that started before a newer synchronous draw() must not bring old
        # data back: it only redraws what is already built.
        if version > self.built_version or (resized and version == self.built_version):
            fig.clear()
            self.axes = view.build(state)
            self.built_version, self.built_size = version, (width, height)
        else:
            version = self.built_version
        self.agg.draw()
        pixels = premultiplied_argb32(np.asarray(self.agg.get_renderer().buffer_rgba()))
        return {"version": version, "width": width, "height": height, "ratio": ratio,
                "pixels": pixels, "geometry": self._axes_geometry(width, height)}

    def main_axes(self):
        ax = self.axes
        return ax if ax is not None and ax in self.figure.axes else None

    def _axes_geometry(self, width: int, height: int) -> dict | None:
        ax = self.main_axes()
        if ax is None:
            return None
        return {"width": width, "height": height, "bbox": tuple(ax.bbox.bounds),
                "xlim": tuple(ax.get_xlim()), "ylim": tuple(ax.get_ylim())}


class _BuildView:
    """``self`` for :meth:`ChartCanvas.build` off the GUI thread: the figure, a copy of the
    chart's plain attributes (taken on the GUI thread) and the class's methods, but not the
    widget, so building a chart never touches a Qt object."""

    def __init__(self, cls: type, attrs: dict, figure: Figure) -> None:
        self._cls, self._attrs, self.figure = cls, attrs, figure

    def __getattr__(self, name: str):
        if name in self._attrs:
            return self._attrs[name]
        attr = inspect.getattr_static(self._cls, name)
        if isinstance(attr, staticmethod):
            return attr.__func__
        if isinstance(attr, classmethod):
            return types.MethodType(attr.__func__, self._cls)
        if isinstance(attr, property):
            return attr.fget(self)
        if inspect.isfunction(attr):
            return types.MethodType(attr, self)
        return attr


class _RenderWorker(PoolWorker):
    """Rebuild (when the data changed) and draw one chart's figure; return its pixels."""

    def __init__(self, renderer: _Renderer, view: _BuildView, request: dict) -> None:
        super().__init__()
        self.renderer, self.view, self.request = renderer, view, request

    def work(self):
        if self.stop_requested():
            return None
        with _DRAW_LOCK:
            if self.stop_requested():
                return None
            return self.renderer.render(self.view, **self.request)


class ChartCanvas(QWidget):
    """Subclass and implement :meth:`state` and :meth:`build`; call :meth:`changed`.

    Signals:
        rendered(): a new image of the chart is on screen (GUI thread).
    """

    rendered = Signal()
    # True for a chart whose build() fits its content to the size (font sizes, legend
    # columns): it is rebuilt, not only redrawn, when its size changes.
    rebuild_on_resize = False

    def __init__(self, parent=None, width: float = 5.0, height: float = 3.0, dpi: int = 100):
        super().__init__(parent)
        self.figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
        self._renderer = _Renderer(self.figure, self.rebuild_on_resize)
        self._version = 0            # bumped by changed(), GUI thread
        self._image: QImage | None = None
        self._pixels: np.ndarray | None = None   # keeps the QImage's memory alive
        self._shown: tuple | None = None         # (version, width, height, ratio) on screen
        self._geometry: dict | None = None
        self._error: str | None = None           # why the last render failed, shown instead
        self._inflight: tuple | None = None      # key of the render in flight
        self._hint = QSize(round(width * dpi), round(height * dpi))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 150)
        self._runner = JobRunner(self)
        self._settle = QTimer(self, singleShot=True, interval=_RESIZE_SETTLE_MS)
        self._settle.timeout.connect(self.draw_idle)
        self._soon = QTimer(self, singleShot=True, interval=0)   # see changed()
        self._soon.timeout.connect(self.draw_idle)
        # Nothing is built here: even the empty state's artists cost 5-15 ms, more with
        # cold caches, and panels are built on the GUI thread. The first render builds.

    # -- what subclasses implement ----------------------------------------------------------

    def state(self) -> dict:
        """A copy of the chart's data, as plain Python (GUI thread)."""
        return {}

    def build(self, state: dict):
        """Create the axes and artists for ``state`` on the (cleared) figure and return
        the main axes (clicks map to its data coordinates), or None.

        Runs on a pool thread or in :meth:`draw`, under the draw lock, with a stand-in for
        ``self`` (:class:`_BuildView`): use ``state``, ``self.figure``, the chart's plain
        attributes and methods, never the widget, and store nothing on ``self`` (read
        artists back through :attr:`ax`). A subclass extending another chart's build
        calls it by name (``Base.build(self, state)``): ``super()`` needs the widget.
        """
        return None

    @property
    def ax(self):
        """The main axes of the figure as last built (None before the first build)."""
        return self._renderer.main_axes()

    def changed(self) -> None:
        """The data changed: redraw once, off the GUI thread, from the next pass of the
        event loop: changes made together (an epoch's accuracy and loss, a run's end)
        make one render, and the caller's own pass does not also pay for starting it."""
        self._version += 1
        self._soon.start()

    def empty_message(self, ax, text: str) -> None:
        """Write a hint in the middle of an empty axes ("Train a model to see …"), wrapped
        to the axes' width (matplotlib's own ``wrap`` uses the figure's, so a hint in a
        small chart beside others ran over its axes)."""
        fig, size = ax.figure, 10
        width_px = ax.get_position().width * fig.get_figwidth() * fig.dpi
        chars = max(12, int(0.95 * width_px / (0.55 * size * fig.dpi / 72)))   # ~0.55 em a character
        ax.text(0.5, 0.5, textwrap.fill(text, chars), ha="center", va="center",
                transform=ax.transAxes, color="0.45", fontsize=size)

    def mpl_connect(self, name: str, func) -> int:
        """matplotlib's event hook, for completeness: the figure's canvas gets no events
        (clicks are mapped by :meth:`data_at`), so these callbacks never run."""
        return self._renderer.agg.mpl_connect(name, func)

    # -- drawing ------------------------------------------------------------------------------

    def draw_idle(self) -> None:
        """Render in the background if what is on screen is out of date."""
        if getattr(self, "_runner", None) is None:
            return  # still constructing
        if self._runner.current_busy():
            return  # _on_render_done starts the next render if this one is stale by then
        request = self._request()
        key = self._render_key(request) if request is not None else None
        if key is None or key == self._shown:
            return
        self._inflight = key
        self._runner.start(_RenderWorker(self._renderer, self._view(), request),
                           finished=self._on_rendered, failed=self._on_render_failed,
                           done=self._on_render_done)

    def draw(self) -> None:
        """Draw now, on this thread (tests, screenshots). Waits for a render in flight."""
        self._runner.shutdown()
        request = self._request(even_if_hidden=True)
        with _DRAW_LOCK:
            result = self._renderer.render(self._view(), **request)
        self._on_rendered(result)

    def render_pending(self) -> bool:
        """True while what is on screen is older than the data or the widget's size."""
        if self._runner.busy():
            return True
        request = self._request()
        return request is not None and self._render_key(request) != self._shown

    def shutdown(self) -> None:
        """Wait for a render in flight (window closing)."""
        self._settle.stop()
        self._soon.stop()
        self._runner.shutdown()

    def sizeHint(self) -> QSize:
        return QSize(self._hint)

    def data_at(self, pos: QPointF) -> tuple[float, float] | None:
        """Data coordinates of the main axes under a widget position, or None.

        Uses the geometry of the image on screen (scaled with it while a resize settles),
        so it never reads the figure, which a render thread may be rebuilding.
        """
        g, image = self._geometry, self._image
        if not g or image is None or self.width() <= 0 or self.height() <= 0:
            return None
        px = pos.x() * g["width"] / self.width()
        py = g["height"] - pos.y() * g["height"] / self.height()   # matplotlib: y up
        x0, y0, w, h = g["bbox"]
        if not (x0 <= px <= x0 + w and y0 <= py <= y0 + h) or w <= 0 or h <= 0:
            return None
        (xa, xb), (ya, yb) = g["xlim"], g["ylim"]
        return xa + (px - x0) / w * (xb - xa), ya + (py - y0) / h * (yb - ya)

    def _view(self) -> _BuildView:
        """The stand-in for ``self`` that :meth:`build` gets (made on the GUI thread)."""
        # Plain attributes only: a Qt object must not reach a pool thread, not even a
        # reference to it (its last reference could then go there).
        attrs = {k: v for k, v in vars(self).items()
                 if k not in _BASE_FIELDS and not isinstance(v, Shiboken.Object)}
        return _BuildView(type(self), attrs, self.figure)

    def _request(self, even_if_hidden: bool = False) -> dict | None:
        ratio = float(self.devicePixelRatioF() or 1.0)
        w, h = self.width(), self.height()
        if not even_if_hidden and (not self.isVisible() or w <= 0 or h <= 0):
            return None  # drawn when shown: hidden tabs cost nothing
        return {"state": self.state(), "version": self._version,
                "width": max(1, round(w * ratio)), "height": max(1, round(h * ratio)),
                "ratio": ratio}

    @staticmethod
    def _render_key(request: dict) -> tuple:
        return request["version"], request["width"], request["height"], request["ratio"]

    def _on_rendered(self, result: dict | None) -> None:
        if result is None:
            return
        key = self._render_key(result)
        if self._shown is not None and key[0] < self._shown[0]:
            return  # older than what is shown
        pixels = result["pixels"]
        h, w = pixels.shape[:2]
        image = QImage(pixels.data, w, h, w * 4, QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(result["ratio"])
        self._pixels, self._image = pixels, image
        self._shown, self._geometry, self._error = key, result["geometry"], None
        try:
            self.update()
            self.rendered.emit()
        except RuntimeError:  # the widget was deleted while its figure was drawing
            pass

    def _on_render_failed(self, message: str) -> None:
        # Shown in the chart's place; not retried until the data or the size changes
        # (a retry loop would keep a thread busy forever).
        self._error = message
        self._shown, self._image, self._geometry = self._inflight, None, None
        log.warning("%s could not be drawn: %s", type(self).__name__, message)
        try:
            self.update()
        except RuntimeError:
            pass

    def _on_render_done(self) -> None:
        try:
            self.draw_idle()   # data or size changed while it was drawing
        except RuntimeError:
            pass

    # -- Qt events: paint the image ---------------------------------------------------------

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), QColor("white"))
            if self._image is not None:
                # Exact size once a render matches the widget; scaled while a resize settles.
                painter.drawImage(QRectF(self.rect()), self._image)
                if self._image.devicePixelRatio() != float(self.devicePixelRatioF() or 1.0):
                    # The window moved to a screen with another pixel ratio (Qt repaints it
                    # then): draw again at the new one. Watching the window's events for the
                    # change instead made every event of the window a call into Python.
                    self.draw_idle()
            elif self._error:
                painter.setPen(QColor("#b00020"))
                painter.drawText(self.rect().adjusted(8, 8, -8, -8),
                                 int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                                 f"This chart could not be drawn: {self._error}")
        finally:
            painter.end()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._image is None:
            self.draw_idle()
        else:
            self._settle.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.draw_idle()


# What ChartCanvas itself keeps on the widget: none of it is build()'s business.
_BASE_FIELDS = frozenset({"figure", "_renderer", "_version", "_image", "_pixels", "_shown", "_geometry",
                          "_error", "_inflight", "_hint", "_runner", "_settle", "_soon"})


def pending_renders(root: QWidget) -> bool:
    """True while any visible chart under ``root`` is still drawing (screenshots wait)."""
    return any(c.isVisible() and c.render_pending() for c in root.findChildren(ChartCanvas))
