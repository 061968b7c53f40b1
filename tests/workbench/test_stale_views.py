"""Every view follows the current dataset and run, whatever order things happen in (issue
22 item 2): one test per stale view a new user met. Real panels, real runs and datasets,
the app state's own signals."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.imagegen import class_image, make_class_folder, write_image
from tests.workbench.panels import make_panel, make_window, wait_idle
from tests.workbench.tiny_run import tiny_run
from workbench.appstate.state import AppState


def _renamed_copy(run_dir: str, dest, classes: list[str]) -> str:
    """A copy of ``run_dir`` whose classes have other names: the same model answers with
    these names, so answers tell which run gave them."""
    shutil.copytree(run_dir, dest)
    (dest / "classes.json").write_text(json.dumps(classes), encoding="utf-8")
    return str(dest)


def test_classify_answers_again_when_the_run_changes(qtbot, tmp_path):
    from workbench.panels.classify import ClassifyPanel

    first = tiny_run()["run_dir"]
    second = _renamed_copy(first, tmp_path / "renamed", ["ant", "bee", "cow"])
    state = AppState()
    state.run_dir = first
    panel = make_panel(qtbot, ClassifyPanel, state=state, size=(1100, 700))
    try:
        wait_idle(qtbot, panel)
        photo = write_image(tmp_path / "photos" / "p.png", class_image(2, 16))
        panel.classify([str(photo)])
        wait_idle(qtbot, panel)
        assert {c for c, _p in panel.results[0]["top_k"]} == {"cat", "dog", "fox"}
        state.set_run(second)   # chosen elsewhere (the Results panel's runs list)
        qtbot.waitUntil(lambda: panel.current_run() == second, timeout=30_000)
        wait_idle(qtbot, panel)
        assert len(panel.results) == 1
        assert {c for c, _p in panel.results[0]["top_k"]} == {"ant", "bee", "cow"}
        assert "ant" in panel.list.item(0).text() or "bee" in panel.list.item(0).text() \
            or "cow" in panel.list.item(0).text()
    finally:
        panel.shutdown()


def test_classify_coverage_reads_a_rule_written_after_the_run_was_shown(qtbot, tmp_path):
    from training.runs.runfolder import UNKNOWN_JSON
    from workbench.panels.classify import ClassifyPanel

    run = tmp_path / "runs" / "training_now"
    shutil.copytree(tiny_run()["run_dir"], run)
    rule = (run / UNKNOWN_JSON).read_text(encoding="utf-8")
    (run / UNKNOWN_JSON).unlink()   # still training: no rule yet
    state = AppState()
    state.run_dir = str(run)
    panel = make_panel(qtbot, ClassifyPanel, state=state, size=(1100, 700))
    try:
        wait_idle(qtbot, panel)
        panel.coverage.load_run(str(run))
        wait_idle(qtbot, panel)   # the rule is read on the app's pool
        assert "has no rule" in panel.coverage.title.text()
        (run / UNKNOWN_JSON).write_text(rule, encoding="utf-8")   # training ended
        state.runsUpdated.emit()
        qtbot.waitUntil(lambda: "below" in panel.coverage.title.text(), timeout=30_000)
        assert panel.coverage.slider.isEnabled()
        # ... of this run: the picker shows the app's run even outside the runs folder.
        assert panel.current_run() == str(run) and panel.coverage.run_dir == str(run)
    finally:
        panel.shutdown()


def test_classify_coverage_reads_off_the_gui_thread_and_drops_older_reads(
        qtbot, tmp_path, monkeypatch):
    # The stat and read of unknown.json ran on the GUI thread at every job's end; each
    # system call there waited for the GIL held by a pool thread drawing charts.
    import threading

    from training.runs.runfolder import UNKNOWN_JSON
    from workbench.panels import classify_coverage
    from workbench.panels.classify_coverage import CoverageControl

    run = tmp_path / "training_now"
    shutil.copytree(tiny_run()["run_dir"], run)
    rule = (run / UNKNOWN_JSON).read_text(encoding="utf-8")
    (run / UNKNOWN_JSON).unlink()   # still training: no rule yet
    other = tmp_path / "other"
    shutil.copytree(tiny_run()["run_dir"], other)
    gui, read_on, release = threading.get_ident(), [], threading.Event()
    real = classify_coverage.read_rule

    def observed(run_dir, known, asked):
        answer = real(run_dir, known, asked)
        read_on.append(threading.get_ident())
        if len(read_on) == 1:
            release.wait(10)   # the first read's answer arrives after the next one's
        return answer

    monkeypatch.setattr(classify_coverage, "read_rule", observed)
    control = CoverageControl()
    qtbot.addWidget(control)
    control.load_run(str(run))
    assert control.pending_work() and control.rule is None   # nothing read here
    qtbot.waitUntil(lambda: len(read_on) == 1, timeout=10_000)   # read: no file yet
    (run / UNKNOWN_JSON).write_text(rule, encoding="utf-8")      # training ended
    control.load_run(str(run))
    qtbot.waitUntil(lambda: not control.pending_work(), timeout=10_000)
    assert control.rule is not None and "below" in control.title.text()
    release.set()   # the older read ("no rule") comes back now: it must not win
    qtbot.wait(300)
    assert control.rule is not None and control.slider.isEnabled()
    assert gui not in read_on and len(read_on) == 2
    # Another run chosen: the shown rule goes at once (it is not that run's), the new
    # one is read on the pool and applied here.
    control.load_run(str(other))
    assert control.rule is None and control.coverage() is None
    qtbot.waitUntil(lambda: not control.pending_work(), timeout=10_000)
    assert control.run_dir == str(other) and control.rule is not None
    assert gui not in read_on and len(read_on) == 3
    control.shutdown()


def test_augmentation_preview_follows_a_dataset_opened_while_the_panel_was_hidden(
        qtbot, tmp_path, monkeypatch):
    from training.data import DatasetSpec, open_dataset
    from workbench.panels.model import ModelPanel

    monkeypatch.setenv("WORKBENCH_SETTINGS_DIR", str(tmp_path / "settings"))
    digits = tmp_path / "digits"
    for label, name in enumerate(("0", "1", "2")):
        for i in range(6):
            write_image(digits / name / f"{i}.png", class_image(label, 20, channels=1))
    fashion = make_class_folder(tmp_path / "fashion", classes=("Bag", "Coat", "Dress"), per_class=6)
    panel = make_panel(qtbot, ModelPanel, size=(1100, 700), show=True)

    def shown_paths():
        return {c.toolTip() for c in panel.assist.preview.cells if c.toolTip()}

    try:
        for root in (digits,):
            spec = DatasetSpec(str(root))
            panel.state.set_dataset(spec, open_dataset(spec))
        qtbot.waitUntil(lambda: bool(shown_paths()), timeout=60_000)
        wait_idle(qtbot, panel)
        assert all(p.startswith(str(digits)) for p in shown_paths())
        panel.hide()   # the person goes to the Dataset panel and opens another dataset
        spec = DatasetSpec(str(fashion))
        panel.state.set_dataset(spec, open_dataset(spec))
        wait_idle(qtbot, panel)
        assert not any(p.startswith(str(digits)) for p in shown_paths())   # no stale digits
        panel.show()
        qtbot.waitUntil(lambda: bool(shown_paths()), timeout=60_000)
        wait_idle(qtbot, panel)
        assert all(p.startswith(str(fashion)) for p in shown_paths())
    finally:
        panel.shutdown()


def test_runs_selected_together_stay_selected_when_the_list_is_read_again(qtbot, tmp_path):
    from workbench.panels.results_runs import RunsList

    runs_root = tmp_path / "runs"
    old = shutil.copytree(tiny_run()["run_dir"], runs_root / "20260101-000000_cnn")
    new = shutil.copytree(tiny_run()["run_dir"], runs_root / "20260102-000000_cnn")
    data = json.loads((new / "run.json").read_text())
    data["started"] = data.get("started", 0) + 60
    (new / "run.json").write_text(json.dumps(data))
    runs = RunsList(str(runs_root))
    qtbot.addWidget(runs)
    try:
        runs.refresh()
        qtbot.waitUntil(lambda: runs.table.rowCount() == 2 and not runs.pending_work(), timeout=30_000)
        assert runs.select_paths([str(old), str(new)])
        runs.refresh()   # a run folder changed on disk: the list is read again
        qtbot.waitUntil(lambda: not runs.pending_work(), timeout=30_000)
        assert sorted(map(os.path.normpath, runs.selected_paths())) == sorted([str(old), str(new)])
        assert len(runs.compare.runs) == 2
    finally:
        runs.shutdown()


@pytest.fixture
def stopped_run(tmp_path):
    """A run under ``tmp_path/runs`` stopped after its first epoch (resumable)."""
    from tests.training.trainutil import Recorder, tiny_spec
    from training.fit.train import train
    from training.recipe.config import TrainConfig

    data = make_class_folder(tmp_path / "data", per_class=8)
    events = Recorder(stop_when=lambda kind, p: kind == "epoch")
    summary = train(str(data), tiny_spec("mlp"), TrainConfig(epochs=4, batch_size=8), events,
                    run_dir=str(tmp_path / "runs" / "stopped"))
    assert summary.status == "stopped"
    return summary.run_dir


def test_after_a_restart_the_training_panel_offers_resume_for_the_unfinished_run(
        qtbot, tmp_path, monkeypatch, stopped_run):
    from workbench.appstate.session_restore import reopen_last_run

    finished = shutil.copytree(tiny_run()["run_dir"], tmp_path / "runs" / "finished_before")
    data = json.loads((finished / "run.json").read_text())
    data["started"] = 1.0   # long before the stopped run
    (finished / "run.json").write_text(json.dumps(data))
    first = make_window(qtbot, tmp_path, monkeypatch, own_runs=True)
    first.state.set_run(str(finished))   # the last run looked at; then the app was closed
    first.close()
    qtbot.waitUntil(lambda: first._shut_down, timeout=30_000)

    window = make_window(qtbot, tmp_path, monkeypatch, own_runs=True)   # the restart
    try:
        reopen_last_run(window)
        qtbot.waitUntil(lambda: window.state.run_dir is not None, timeout=30_000)
        assert os.path.normpath(window.state.run_dir) == os.path.normpath(stopped_run)
        training = window.panels["train"]
        qtbot.waitUntil(training.resume_button.isEnabled, timeout=10_000)
        assert "Resume" in training.hint.text()
        assert training.progress.format() != "Idle"
    finally:
        window.shutdown()
