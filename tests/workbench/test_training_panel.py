"""Training panel: real Keras training on tiny data, driven through the panel's buttons."""
import json
import os
import traceback

import pytest

from tests.imagegen import make_class_folder
from tests.workbench.panels import make_panel
from tests.workbench.panels import wait_idle as _wait_idle
from workbench.panels.training import TrainingPanel
from workbench.appstate.state import AppState


@pytest.fixture
def panel(qtbot, tmp_path):
    from training.data import open_dataset

    p = make_panel(qtbot, TrainingPanel, size=(1000, 700))
    root = make_class_folder(tmp_path / "data", per_class=12)
    p.state.set_dataset(None, open_dataset(str(root)))
    yield p
    p.shutdown()


def _config(**kw):
    from training.recipe.config import TrainConfig

    return TrainConfig(**{"epochs": 2, "batch_size": 8, **kw})


def _assert_stopped_quickly(p, when):
    # Training itself must end within 2 s of Stop (the core then reports "Evaluating…" or
    # "Run stopped"); the thread may take longer because the core then saves the model and
    # frees Keras memory (clear_session + gc), which costs 1-2 s on 2 loaded cores.
    assert p.stop_ack_latency is not None and p.stop_ack_latency < 2.0, \
        f"{when}: training went on {p.stop_ack_latency} s after Stop"
    assert p.last_stop_latency is not None and p.last_stop_latency < 5.0, \
        f"{when}: the thread ended {p.last_stop_latency} s after Stop"


def test_start_needs_a_dataset(qtbot):
    p = TrainingPanel(AppState())
    qtbot.addWidget(p)
    assert not p.start_button.isEnabled()
    assert "Open a dataset first" in p.hint.text()
    p.start_training()  # must be a no-op, not a crash
    assert not p.pending_work()


def test_train_two_epochs_shows_two_points_and_writes_a_run(qtbot, panel):
    state = panel.state
    state.set_train_config(_config())
    runs_seen, listed_inside_done = [], []
    state.runsUpdated.connect(lambda: runs_seen.append(1))
    # The run's end is split over passes of the event loop: the runs list refreshes on a
    # later pass than the one that makes the run current (it cost 11-18 ms in one), so it
    # is never refreshed from inside the panel's end-of-run handler. (Comparing with a
    # test's own zero-time timer raced: Qt gives no order between a posted call and a
    # zero-interval QTimer.)
    state.runsUpdated.connect(lambda: listed_inside_done.append(
        any(frame.name == "_done" for frame in traceback.extract_stack())))
    panel.start_button.click()
    assert panel.is_training()
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    panel.start_training()  # a second start while one runs is ignored
    assert len(panel.runner._jobs) == 1
    _wait_idle(qtbot, panel)
    assert not panel.error_label.isVisibleTo(panel), panel.error_label.text()
    for chart in (panel.accuracy_chart, panel.loss_chart):
        chart.draw()
        assert list(chart.train_line.get_xdata()) == [1, 2]
        assert len(chart.val_line.get_ydata()) == 2
        assert len(chart.best_marker.get_xdata()) == 1
    metric_log = [line for line in panel.log.toPlainText().splitlines() if line.startswith("Epoch")]
    assert len(metric_log) == 2 and "val_acc" in metric_log[0]
    run_dir = state.run_dir
    assert run_dir and os.path.isfile(os.path.join(run_dir, "model_best.keras"))
    with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as f:
        assert json.load(f)["status"] == "complete"
    assert runs_seen and panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    assert listed_inside_done and not any(listed_inside_done), listed_inside_done
    assert "Training finished" in panel.status_label.text()
    assert panel.device_label.text().startswith("Device: ")


def test_stop_within_two_seconds_then_resume_and_train_again(qtbot, panel):
    state = panel.state
    # Many epochs and no early stopping: only the Stop button ends this run.
    state.set_train_config(_config(epochs=300, early_stopping=False))
    panel.start_training()
    qtbot.waitUntil(lambda: panel.epochs_seen >= 2, timeout=180_000)
    panel.stop_button.click()
    assert not panel.stop_button.isEnabled()
    _wait_idle(qtbot, panel)
    _assert_stopped_quickly(panel, "mid-training")
    assert "Stopped — best weights from epoch" in panel.status_label.text()
    first = state.run_dir
    with open(os.path.join(first, "run.json"), encoding="utf-8") as f:
        assert json.load(f)["status"] == "stopped"
    assert os.path.isfile(os.path.join(first, "model_best.keras"))
    assert panel.start_button.isEnabled()

    # The stopped run has a checkpoint: Resume continues its epoch count (run.json is
    # read on the app's pool).
    qtbot.waitUntil(panel.resume_button.isEnabled, timeout=10_000)
    done_before = panel.epochs_seen
    panel.resume_button.click()
    qtbot.waitUntil(lambda: len(panel.accuracy_chart.epochs)
                    > done_before, timeout=180_000)
    panel.stop_training()
    _wait_idle(qtbot, panel)
    panel.accuracy_chart.draw()
    xs = list(panel.accuracy_chart.train_line.get_xdata())
    assert xs[: done_before] == list(range(1, done_before + 1)) and xs[-1] > done_before
    _assert_stopped_quickly(panel, "resumed run")

    # A second, new training starts right away; stop it during its first epoch.
    panel.start_training()
    assert panel.is_training()
    qtbot.waitUntil(lambda: panel.progress.format().startswith("Training"), timeout=90_000)
    panel.stop_training()
    _wait_idle(qtbot, panel)
    _assert_stopped_quickly(panel, "first epoch")
    assert state.run_dir != first
    assert "Stopped" in panel.status_label.text()
    assert panel.start_button.isEnabled()


def test_bad_spec_shows_an_error_and_the_panel_stays_usable(qtbot, panel):
    from training.models import template

    spec = template("cnn", input_size=(16, 16), color_mode="rgb")
    spec.layers[0].params["filters"] = -4
    panel.state.set_model_spec(spec)
    panel.state.set_train_config(_config(epochs=1))
    panel.start_training()
    _wait_idle(qtbot, panel)
    assert panel.error_label.isVisibleTo(panel)
    assert "Training failed" in panel.error_label.text() and "-4" in panel.error_label.text()
    assert panel.start_button.isEnabled()


def _stopped_copy(src: str, dest, bad_files: int) -> str:
    """A copy of a finished run that says it was stopped after epoch 1 (resumable: it
    has model_last.keras) with ``bad_files`` files left out."""
    import shutil

    shutil.copytree(src, dest)
    info = json.loads((dest / "run.json").read_text(encoding="utf-8"))
    info.update(status="stopped", checkpoint={"epoch": 1}, bad_files=bad_files)
    (dest / "run.json").write_text(json.dumps(info), encoding="utf-8")
    return str(dest)


def test_run_files_are_read_on_the_pool_and_answers_for_another_run_dropped(
        qtbot, tmp_path, monkeypatch):
    # A chosen run's files (run.json, history.json), whether it is resumable and its bad
    # files were read on the GUI thread, at every change of the controls too, and at a
    # run's end: each open/stat/realpath waited there for the GIL (BENCHMARKS section 14).
    import shutil
    import threading

    from tests.workbench.tiny_run import tiny_run
    from workbench.panels import training, training_display

    stopped = _stopped_copy(tiny_run()["run_dir"], tmp_path / "stopped", bad_files=3)
    complete = tmp_path / "complete"
    shutil.copytree(tiny_run()["run_dir"], complete)
    assert os.path.isfile(os.path.join(stopped, "model_last.keras"))
    gui, read_on, release = threading.get_ident(), [], threading.Event()

    def observed(real):
        def read(run_dir):
            answer = real(run_dir)
            read_on.append((threading.get_ident(), run_dir))
            if run_dir == stopped and not release.is_set():
                release.wait(10)   # its answers come after the next run is chosen
            return answer
        return read

    monkeypatch.setattr(training_display, "end_facts", observed(training_display.end_facts))
    monkeypatch.setattr(training, "read_run_view", observed(training.read_run_view))
    state = AppState()
    p = make_panel(qtbot, TrainingPanel, state=state)
    try:
        _wait_idle(qtbot, p)
        read_on.clear()
        state.set_run(stopped)
        assert not p.resume_button.isEnabled()   # not known yet: nothing read here
        qtbot.waitUntil(lambda: len(read_on) == 2, timeout=10_000)   # both reads blocked
        state.set_run(str(complete))
        qtbot.waitUntil(lambda: "Showing run complete" in p.status_label.text(), timeout=10_000)
        release.set()
        _wait_idle(qtbot, p)
        qtbot.wait(100)
        assert "Showing run complete" in p.status_label.text()   # the older answer dropped
        assert not p.resume_button.isEnabled() and "is unfinished" not in p.hint.text()
        assert not p.bad_files_label.isVisibleTo(p)
        state.set_run(stopped)
        qtbot.waitUntil(p.resume_button.isEnabled, timeout=10_000)
        _wait_idle(qtbot, p)
        assert "is unfinished" in p.hint.text() and "Showing run stopped" in p.status_label.text()
        assert p.bad_files_label.text().startswith("3 files could not be read")
        # A run that ends shows its bad files from run.json, also read on the pool.
        p.run_dir = stopped
        p.bad_files_label.hide()
        p._finished({"run_dir": stopped, "status": "stopped"})
        assert not p.bad_files_label.isVisibleTo(p)
        qtbot.waitUntil(lambda: p.bad_files_label.isVisibleTo(p), timeout=10_000)
        assert all(thread != gui for thread, _run in read_on) and len(read_on) >= 5
    finally:
        p.shutdown()
