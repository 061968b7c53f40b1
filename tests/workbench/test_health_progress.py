"""Data health's progress (issue 22 item 10): an estimate of the time left, only the
percentage inside the bar (the text overflowed it), and no internal temporary path in the
status (the core's side: tests/training/health/test_health.py)."""
from __future__ import annotations

import tempfile

from tests.imagegen import make_class_folder
from tests.workbench.panels import make_panel, wait_idle
from workbench.appstate.state import AppState
from workbench.panels.health import time_left


def test_time_left_from_the_pace_so_far():
    assert time_left(1.0, 1, 10) == "· estimating time left…"     # too early to say
    assert time_left(60.0, 0, 10) == "· estimating time left…"
    assert time_left(60.0, 2, 8) == "· about 4 min left"           # 30 s a model, 8 to go
    assert time_left(10.0, 5, 5) == "· about 10 s left"
    assert time_left(600.0, 1, 9) == "· about 1.5 h left"
    assert time_left(5.0, 5, 0) == ""


def test_health_view_shows_percent_in_the_bar_and_time_left_beside_it(qtbot, tmp_path, monkeypatch):
    from training.data import DatasetSpec, open_dataset
    from workbench.panels import health
    from workbench.panels.health import HealthView

    root = make_class_folder(tmp_path / "data", per_class=10, size=12)
    state = AppState()
    spec = DatasetSpec(str(root))
    state.set_dataset(spec, open_dataset(spec))
    view = make_panel(qtbot, HealthView, state=state, size=(1024, 400), show=True)
    texts = []
    try:
        view.check()   # a real check (pixels only: no run)
        qtbot.waitUntil(lambda: (texts.append(view.status.text()) or view.report is not None),
                        timeout=120_000)
        wait_idle(qtbot, view)
        assert view.progress.format() == "%p%"
        assert not [t for t in texts if tempfile.gettempdir() in t]
        # A long phase: after two models in a minute, eight to go -> about four minutes.
        clock = iter([100.0, 160.0])
        monkeypatch.setattr(health.time, "monotonic", lambda: next(clock))
        view._on_status("Cross-validation: training model 3 of 10…")
        view._on_progress(0, 1000, "cross-validation models")
        view._on_progress(200, 1000, "cross-validation models")
        assert view.status.text() == "Cross-validation: training model 3 of 10… · about 4 min left"
        assert view.progress.format() == "%p%"
        bar = view.progress
        assert bar.fontMetrics().horizontalAdvance(bar.text()) < bar.width()
    finally:
        view.shutdown()
