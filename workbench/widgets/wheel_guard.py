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
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox

GUARDED = (QComboBox, QAbstractSpinBox)


class WheelGuard(QObject):
    """The application-wide event filter (see module docstring)."""

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Polish and isinstance(obj, GUARDED):
            if obj.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                obj.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            return False
        if kind != QEvent.Type.Wheel or not isinstance(obj, GUARDED) or obj.hasFocus():
            return False
        # A QComboBox's line edit or a spin box's inner edit never reaches here as the
        # guarded widget itself: only the widget under the pointer is checked.
        _scroll_enclosing(obj, event)
        event.accept()
        return True   # the widget keeps its value


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
        app.installEventFilter(guard)
        # Widgets polished before the guard existed keep WheelFocus: fix them now.
        for w in app.allWidgets():
            if isinstance(w, GUARDED) and w.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return guard
