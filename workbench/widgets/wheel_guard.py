"""Combo boxes and spin boxes take the mouse wheel only when they have the keyboard focus.

Scrolling the Model panel with the wheel used to change whatever setting passed under
the pointer (the rate schedule went from cosine to plateau to none). The common Qt
remedy, applied once for the whole application by :func:`install_wheel_guard`:

- such a widget gets ``Qt.StrongFocus`` instead of ``Qt.WheelFocus`` when it is
  polished, so the wheel no longer gives it the focus (Qt hands the focus out before any
  event filter sees the wheel);
- an unfocused one never sees the wheel: the event goes to the scroll area around it,
  which scrolls as if the pointer were over empty space. Click or tab into the widget
  and the wheel changes its value as before.

Why a style and per-widget filters, not one application-wide event filter: an
application filter written in Python makes *every* event of the app (each widget's
paint, each timer, each layout request) a call into Python, and each such call must
take the GIL. While a pool thread draws a chart in Python, each of those takes up to
the interpreter's switch interval (5 ms) to get it back: measured, a window repainting
200 labels beside one busy Python thread went from 282 timer ticks in 3 s (max 24 ms
late) to 39 (max 362 ms late) with such a filter installed. A ``QProxyStyle`` sees each
widget once, when it is polished; only the guarded widgets get the filter.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox, QProxyStyle

GUARDED = (QComboBox, QAbstractSpinBox)


class WheelGuard(QObject):
    """The event filter of each combo and spin box (see module docstring)."""

    def eventFilter(self, obj, event) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(obj, GUARDED) or obj.hasFocus():
            return False
        # A QComboBox's line edit or a spin box's inner edit never reaches here as the
        # guarded widget itself: only the widget under the pointer is checked.
        _scroll_enclosing(obj, event)
        event.accept()
        return True   # the widget keeps its value

    def guard(self, widget) -> None:
        """Make ``widget`` (a combo or spin box) take the wheel only when focused."""
        if widget.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        widget.installEventFilter(self)   # Qt installs a filter once, however often asked


class _GuardStyle(QProxyStyle):
    """The application's style, unchanged, except that it hands each combo and spin box
    to the guard when Qt polishes it (once per widget, and again after a style change)."""

    def __init__(self, guard: WheelGuard) -> None:
        super().__init__()   # wraps the platform's default style
        self.guard = guard

    def polish(self, arg):
        if isinstance(arg, GUARDED):
            self.guard.guard(arg)
        return super().polish(arg)


def _scroll_enclosing(widget, event: QWheelEvent) -> None:
    """Give the wheel to the nearest scroll area around ``widget`` (none: dropped)."""
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    if parent is None:
        return
    viewport = parent.viewport()
    pos = viewport.mapFromGlobal(event.globalPosition())
    forwarded = QWheelEvent(pos, event.globalPosition(), event.pixelDelta(), event.angleDelta(),
                            event.buttons(), event.modifiers(), event.phase(), event.inverted())
    QApplication.sendEvent(viewport, forwarded)


def install_wheel_guard(app: QApplication | None = None) -> WheelGuard:
    """Install the guard on ``app`` (the running application) once; returns it."""
    app = app or QApplication.instance()
    guard = app.findChild(WheelGuard)
    if guard is None:
        guard = WheelGuard(app)
        # setStyle re-polishes the widgets that exist already, so they are guarded too.
        # The application owns the style from here on.
        app.setStyle(_GuardStyle(guard))
    return guard
