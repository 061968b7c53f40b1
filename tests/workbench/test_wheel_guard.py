"""The mouse wheel over the Model panel scrolls it instead of changing the setting under
the pointer (issue 22 item 3); a focused combo or spin box still takes the wheel."""
from __future__ import annotations

import sys

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QScrollArea

from tests.workbench.panels import make_window


def _wheel(widget, steps: int = -1) -> None:
    """One notch of the wheel over the middle of ``widget`` (negative: towards the user)."""
    local = QPointF(widget.rect().center())
    event = QWheelEvent(local, QPointF(widget.mapToGlobal(local.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * steps), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def _scroll_area(widget) -> QScrollArea:
    p = widget.parentWidget()
    while not isinstance(p, QScrollArea):
        p = p.parentWidget()
    return p


def test_wheel_scrolls_the_model_panel_instead_of_changing_the_schedule(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch, size=(1024, 640))
    window.show_panel("model")
    panel = window.panels["model"]
    combo = panel.training_form.schedule
    assert combo.focusPolicy() == Qt.FocusPolicy.StrongFocus   # the wheel gives no focus
    scroll = _scroll_area(combo)
    bar = scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5000)
    bar.setValue(0)
    before = combo.currentText()
    for _ in range(3):
        _wheel(combo)
    assert combo.currentText() == before
    assert bar.value() > 0, "the panel did not scroll"
    # Every combo and spin box in the app is guarded, not just this one.
    guarded = [w for w in panel.findChildren(QComboBox) + panel.findChildren(QAbstractSpinBox)]
    assert guarded and all(w.focusPolicy() != Qt.FocusPolicy.WheelFocus for w in guarded)
    spin = next(w for w in panel.findChildren(QAbstractSpinBox) if w.isEnabled())
    value = spin.text()
    _wheel(spin, +1)
    assert spin.text() == value
    # Focused: the wheel changes the value, as before.
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=2000)
    index = combo.currentIndex()
    _wheel(combo, -1 if index + 1 < combo.count() else +1)
    assert combo.currentIndex() != index
    window.close()


def test_only_combo_and_spin_boxes_events_reach_the_guard(qtbot, tmp_path, monkeypatch):
    """An application-wide filter in Python made every event of the app a call into
    Python that must take the GIL (up to 5 ms each while a pool thread draws a chart):
    the guard now sees the events of the widgets it guards, and no other."""
    from PySide6.QtWidgets import QLabel, QSpinBox

    from workbench.widgets.wheel_guard import GUARDED, WheelGuard

    window = make_window(qtbot, tmp_path, monkeypatch, size=(1024, 640))
    window.show_panel("model")
    seen = []
    code = WheelGuard.eventFilter.__code__

    def profile(frame, event, arg):
        # Every call of the guard's filter from Qt, whatever object PySide calls it on.
        if event == "call" and frame.f_code is code:
            kind = frame.f_locals["event"].type()
            # A guarded widget being destroyed (a rebuilt form's) is a plain QWidget by then.
            if kind not in (QEvent.Type.Destroy, QEvent.Type.DynamicPropertyChange):
                seen.append(type(frame.f_locals["obj"]))

    sys.setprofile(profile)
    try:
        label = QLabel("not guarded", window)
        label.show()
        label.repaint()
        combo = window.panels["model"].training_form.schedule
        combo.repaint()
        # A spin box made after the guard was installed (a dialog's) is guarded too.
        spin = QSpinBox(window)
        spin.show()
        assert spin.focusPolicy() == Qt.FocusPolicy.StrongFocus
        spin.repaint()
        qtbot.wait(50)
        assert QComboBox in seen and QSpinBox in seen
        assert all(issubclass(t, GUARDED) for t in seen), sorted({t.__name__ for t in seen})
    finally:
        sys.setprofile(None)
    window.close()
