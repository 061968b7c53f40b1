"""The embedding map's plot: every image as a point, pan/zoom, hover, click and selection.

Drawn with pyqtgraph, one ``ScatterPlotItem`` per colour (one brush each: pyqtgraph
draws a single-brush item from one cached sprite, the fastest path), because a plain
matplotlib scatter redraws all 70,000 points on every pan at ~0.4 s a frame here
(docs/BENCHMARKS.md, "Embedding map"). The point under the mouse is found with a
KD-tree built once per map (a few microseconds), never a scan in Python, so hover and
click stay far inside the GUI thread's ~30 ms budget.

Signals carry positions into the arrays given to :meth:`MapView.set_map`.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from scipy.spatial import cKDTree   # with pyqtgraph, imported when the Map tab is first shown
from PySide6.QtCore import QPointF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QVBoxLayout, QWidget

PAN, RECTANGLE, LASSO = "pan", "rectangle", "lasso"
POINT_SIZE = 4
CHUNK = 6000   # points added per event-loop turn (~25 ms)
HOVER_RADIUS_PX = 6
LEGEND_ROW_PX = 20   # one legend entry's height at the default label size


class _SelectBox(pg.ViewBox):
    """A ViewBox whose left-drag draws a rectangle or a lasso instead of panning, when
    the view is in one of those modes (the wheel still zooms, the right button still
    drags to zoom as pyqtgraph does)."""

    def __init__(self, view: "MapView"):
        super().__init__()
        self.view = view
        self._trail: list[QPointF] = []
        self._shape = QGraphicsPathItem()
        self._shape.setPen(QPen(QColor(30, 30, 30), 0, Qt.PenStyle.DashLine))
        self._shape.setZValue(100)
        self.addItem(self._shape, ignoreBounds=True)

    def mouseDragEvent(self, ev, axis=None):
        mode = self.view.mode
        if mode == PAN or ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        p = self.mapSceneToView(ev.scenePos())
        if ev.isStart():
            self._trail = [self.mapSceneToView(ev.buttonDownScenePos()), p]
        else:
            self._trail.append(p)
        path = QPainterPath()
        if mode == RECTANGLE:
            a, b = self._trail[0], self._trail[-1]
            path.addRect(min(a.x(), b.x()), min(a.y(), b.y()), abs(b.x() - a.x()), abs(b.y() - a.y()))
        else:
            path.moveTo(self._trail[0])
            for q in self._trail[1:]:
                path.lineTo(q)
            path.closeSubpath()
        self._shape.setPath(path)
        if ev.isFinish():
            pts = np.array([[q.x(), q.y()] for q in self._trail])
            self._shape.setPath(QPainterPath())
            self._trail = []
            self.view.select_shape(mode, pts)


class MapView(QWidget):
    """The plot. :meth:`set_map` gives the points, :meth:`set_colors` their colours.

    Signals:
        hovered(int): the point under the mouse (-1: none), at most once per change.
        clicked(int): a point was clicked.
        selectionChanged(object): positions (``np.ndarray``) of a rectangle or lasso.
    """

    hovered = Signal(int)
    clicked = Signal(int)
    selectionChanged = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=False)
        self.mode = PAN
        self.xy = np.zeros((0, 2), np.float32)
        self._tree = None
        self._items: list = []
        self._planned: list = []
        self._pending: list = []
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self._add_next)
        self.hover = -1
        self.box = _SelectBox(self)
        self.plot = pg.PlotWidget(viewBox=self.box, background="w")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        item = self.plot.getPlotItem()
        for side in ("left", "bottom"):
            item.getAxis(side).setPen(pg.mkPen("#444"))
            item.getAxis(side).setTextPen(pg.mkPen("#222"))
        self.legend = item.addLegend(offset=(-8, 8), labelTextColor="#111",
                                     brush=pg.mkBrush(255, 255, 255, 220), pen=pg.mkPen("#888"))
        self.highlight = pg.ScatterPlotItem(size=POINT_SIZE + 6, pen=pg.mkPen("#000", width=1.5),
                                            brush=None, pxMode=True)
        self.highlight.setZValue(50)
        self.plot.addItem(self.highlight, ignoreBounds=True)
        self.plot.scene().sigMouseMoved.connect(self._on_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    # -- data ----------------------------------------------------------------------------
    def set_map(self, xy, axis_names: tuple[str, str] = ("", "")) -> None:
        """New positions (``(n, 2)``); colours must follow with :meth:`set_colors`."""
        self.xy = np.asarray(xy, np.float64)   # float32 scalars overflow in pyqtgraph's range checks
        self._tree = None   # built after the points are drawn (~27 ms at 70,000: with the
        # first piece of points in the same event-loop turn it held the GUI thread ~60 ms)
        self.hover = -1
        item = self.plot.getPlotItem()
        item.setLabel("bottom", axis_names[0])
        item.setLabel("left", axis_names[1])
        self.highlight.setData([], [])
        self.reset_view()

    def set_colors(self, groups: np.ndarray, legend: list[tuple[str, QColor]]) -> None:
        """Colour point ``i`` with ``legend[groups[i]]`` (a group of -1 is not drawn).

        The points are added in pieces of at most :data:`CHUNK` points, one piece per turn
        of the event loop: building a scatter item costs ~4 us a point in pyqtgraph, so all
        70,000 at once would hold the GUI thread for ~0.3 s.
        """
        self._timer.stop()
        for it in self._items:
            self.plot.removeItem(it)
        self._items = []
        self.legend.clear()
        groups = np.asarray(groups)
        self._planned, self._pending = [], []
        for g, (name, color) in enumerate(legend):
            sel = np.flatnonzero(groups == g)
            label = f"{name} ({len(sel):,})"
            self._planned.append((label, len(sel)))
            brush = pg.mkBrush(color)
            for k, start in enumerate(range(0, max(len(sel), 1), CHUNK)):
                self._pending.append((sel[start:start + CHUNK], brush, label if k == 0 else None))
        self._fold_legend()
        self._add_next()

    @Slot()
    def _add_next(self) -> None:
        if not self._pending:
            return
        sel, brush, name = self._pending.pop(0)
        item = pg.ScatterPlotItem(x=self.xy[sel, 0], y=self.xy[sel, 1], size=POINT_SIZE, pen=None,
                                  brush=brush, pxMode=True, name=name)
        self.plot.addItem(item)
        self._items.append(item)
        if self._pending:
            self._timer.start()
        else:
            self._picking_tree()

    def drawing(self) -> bool:
        """Points are still being added (see :meth:`set_colors`)."""
        return bool(self._pending)

    def colors(self) -> list[tuple[str, int]]:
        """``[(legend name, points)]`` as drawn once :meth:`drawing` is over."""
        return list(self._planned)

    def drawn_points(self) -> int:
        return sum(len(it.data) for it in self._items)

    def set_highlight(self, positions) -> None:
        """Ring these points (the selection, or "more like this" neighbours)."""
        pos = np.asarray(positions, np.int64)[:2000]
        self.highlight.setData(x=self.xy[pos, 0], y=self.xy[pos, 1]) if len(pos) else \
            self.highlight.setData([], [])

    def reset_view(self) -> None:
        """Show every point. The range comes from the positions themselves, not pyqtgraph's
        auto-range: that follows the items as :meth:`set_colors` adds them piece by piece,
        so a view reset while drawing (or a screenshot) showed only the first pieces."""
        if not len(self.xy):
            return
        lo, hi = self.xy.min(axis=0), self.xy.max(axis=0)
        self.box.setRange(xRange=(lo[0], hi[0]), yRange=(lo[1], hi[1]), padding=0.03)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fold_legend()

    def _fold_legend(self) -> None:
        """Spread the legend over columns when one column would cover more than half of the
        plot's height (10 classes at 1024x640 hid a third of the map)."""
        rows = max(len(self._planned), 1)
        fits = max(int(self.plot.height() * 0.5 // LEGEND_ROW_PX), 1)
        self.legend.setColumnCount(min(-(-rows // fits), 4))

    # -- picking -------------------------------------------------------------------------
    def nearest(self, x: float, y: float, radius_px: float = HOVER_RADIUS_PX) -> int:
        """The point nearest to view position (x, y) within ``radius_px`` screen pixels, or -1."""
        if self._picking_tree() is None:
            return -1
        px = self.box.viewPixelSize()   # view units per pixel, (x, y)
        sx, sy = max(px[0], 1e-12), max(px[1], 1e-12)
        # Search in pixel space: scale so one unit is one pixel on each axis.
        d, i = self._tree.query([x, y], k=8)
        d, i = np.atleast_1d(d), np.atleast_1d(i)
        ok = i < len(self.xy)
        if not ok.any():
            return -1
        cand = i[ok]
        dp = np.hypot((self.xy[cand, 0] - x) / sx, (self.xy[cand, 1] - y) / sy)
        best = int(np.argmin(dp))
        if dp[best] <= radius_px:
            return int(cand[best])
        # Anisotropic zoom can hide the nearest on screen among more candidates: look wider.
        near = self._tree.query_ball_point([x, y], r=radius_px * max(sx, sy))
        if not near:
            return -1
        near = np.asarray(near)
        dp = np.hypot((self.xy[near, 0] - x) / sx, (self.xy[near, 1] - y) / sy)
        best = int(np.argmin(dp))
        return int(near[best]) if dp[best] <= radius_px else -1

    def _picking_tree(self):
        """The KD-tree of the positions (None without points), built on first need."""
        if self._tree is None and len(self.xy):
            self._tree = cKDTree(self.xy)
        return self._tree

    def _on_moved(self, scene_pos) -> None:
        if not self.box.sceneBoundingRect().contains(scene_pos):
            return
        p = self.box.mapSceneToView(scene_pos)
        i = self.nearest(p.x(), p.y())
        if i != self.hover:
            self.hover = i
            self.hovered.emit(i)

    def _on_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or self.mode != PAN and ev.double():
            return
        p = self.box.mapSceneToView(ev.scenePos())
        i = self.nearest(p.x(), p.y())
        if i >= 0:
            self.clicked.emit(i)

    def click_point(self, i: int) -> None:
        """As if point ``i`` were clicked (keyboard and tests)."""
        self.clicked.emit(int(i))

    # -- selection -----------------------------------------------------------------------
    def select_shape(self, mode: str, pts: np.ndarray) -> np.ndarray:
        """Select the points inside a rectangle (two corners) or a lasso (a polygon) in view
        coordinates; emits ``selectionChanged`` and returns the positions."""
        xy = self.xy
        if mode == RECTANGLE:
            (x0, y0), (x1, y1) = pts[0], pts[-1]
            inside = ((xy[:, 0] >= min(x0, x1)) & (xy[:, 0] <= max(x0, x1))
                      & (xy[:, 1] >= min(y0, y1)) & (xy[:, 1] <= max(y0, y1)))
        else:
            from matplotlib.path import Path

            if len(pts) < 3:
                inside = np.zeros(len(xy), bool)
            else:
                lo, hi = pts.min(axis=0), pts.max(axis=0)
                box = np.flatnonzero((xy[:, 0] >= lo[0]) & (xy[:, 0] <= hi[0])
                                     & (xy[:, 1] >= lo[1]) & (xy[:, 1] <= hi[1]))
                inside = np.zeros(len(xy), bool)
                inside[box] = Path(pts).contains_points(xy[box])
        sel = np.flatnonzero(inside)
        self.set_highlight(sel)
        self.selectionChanged.emit(sel)
        return sel
