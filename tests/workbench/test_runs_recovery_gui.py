"""Partial and damaged runs in the app: stopped and SIGKILLed runs are listed as such and
the interrupted one resumes from the Training panel; damaged run/spec files show a
message, not a traceback; the decoded-image cache can be cleared from the Tools menu."""
import json
import shutil
from pathlib import Path

import pytest

from tests.imagegen import make_class_folder
from tests.training.trainutil import kill_cli_training_after_first_checkpoint
from tests.workbench.panels import wait_idle as _wait_idle
from tests.workbench.tiny_run import tiny_run
from workbench.panels.results_runs import COLUMN_STATUS
from workbench.appstate.state import AppState

ROOT = Path(__file__).resolve().parents[2]


def _listed_status(results, run_dir):
    from workbench.panels.results_runs import PathRole

    table = results.runs.table
    for r in range(table.rowCount()):
        if table.item(r, 0).data(PathRole) == str(run_dir):
            return table.item(r, COLUMN_STATUS).text()
    return None


# Panels and windows are shut down in fixture teardown, after pytest-qt has closed the
# widgets, as in the other panel tests.
@pytest.fixture
def panels(qtbot, tmp_path, monkeypatch):
    """A Results and a Training panel sharing one state, listing ``tmp_path/runs``."""
    from workbench.panels.results import ResultsPanel
    from workbench.panels.training import TrainingPanel

    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(tmp_path / "runs"))
    state = AppState()
    results, training = ResultsPanel(state), TrainingPanel(state)
    for w in (results, training):
        qtbot.addWidget(w)
    yield results, training
    training.shutdown()
    results.shutdown()


@pytest.fixture
def window(qtbot):
    from workbench.mainwindow import MainWindow

    w = MainWindow(probe_device=False)
    qtbot.addWidget(w)
    yield w
    w.shutdown()


def test_stopped_and_killed_runs_are_listed_and_the_killed_one_resumes(qtbot, tmp_path, panels):
    from tests.childcall import call_in_child
    from workbench.panels.results_runs import PathRole

    results, training = panels
    state = results.state
    runs_root = tmp_path / "runs"
    data = make_class_folder(tmp_path / "data", per_class=12)
    epochs = 6
    killed = runs_root / "killed"
    done_before = kill_cli_training_after_first_checkpoint(data, killed, epochs, "--image-size", "16")
    assert 1 <= done_before < epochs
    stopped = runs_root / "stopped"
    s = call_in_child("tests.workbench.tfhelpers:train_run", str(data), str(stopped), "mlp", 16, 5, 8, 1)
    assert s["status"] == "stopped"

    results.runs.refresh()
    _wait_idle(qtbot, results)
    assert _listed_status(results, killed) == "interrupted"
    assert _listed_status(results, stopped) == "stopped"
    assert (stopped / "model_best.keras").is_file()
    # Selecting the interrupted run in the list makes it the current run; Resume
    # continues it from its checkpoint in the Training panel.
    table = results.runs.table
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).data(PathRole) == str(killed))
    table.selectRow(row)
    assert state.run_dir == str(killed)
    qtbot.waitUntil(training.resume_button.isEnabled, timeout=10_000)   # read on the pool
    training.resume_button.click()
    assert training.is_training()
    _wait_idle(qtbot, training)
    assert not training.error_label.isVisibleTo(training), training.error_label.text()
    history = json.loads((killed / "history.json").read_text())
    assert [h["epoch"] for h in history] == list(range(1, epochs + 1))  # the count continued
    training.accuracy_chart.draw()
    assert list(training.accuracy_chart.train_line.get_xdata()) == list(range(1, epochs + 1))
    assert training.epochs_seen == epochs - done_before  # only the missing epochs trained
    _wait_idle(qtbot, results)
    assert _listed_status(results, killed) == "complete"
    # A complete run has nothing to resume (run.json is read on the app's pool).
    qtbot.waitUntil(lambda: not training.resume_button.isEnabled(), timeout=10_000)


@pytest.mark.parametrize("name, content, words", [
    ("run.json", '{"schema_version": 1, "status": "comp', "truncated"),
    ("run.json", '{"schema_version": 42, "status": "complete"}', "newer version"),
    ("run.json", "[]", "JSON object"),
    ("evaluation.json", '{"accuracy": 0.5, "predic', "truncated"),
])
def test_results_panel_shows_damaged_run_files_as_a_message(qtbot, tmp_path, results_panel, name,
                                                            content, words):
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run()["run_dir"], run_dir)
    (run_dir / name).write_text(content, encoding="utf-8")
    panel = results_panel
    panel.state.set_run(str(run_dir))
    _wait_idle(qtbot, panel)
    text = panel.header.text()
    assert name in text and words in text, text
    assert "Traceback" not in text
    assert panel.evaluation is None and panel.evaluate_button.isEnabled()


def test_model_panel_load_spec_shows_damaged_files_as_a_message(qtbot, tmp_path, monkeypatch,
                                                                model_panel):
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    from training.models import template

    panel = model_panel
    state = panel.state
    text = template("mlp", input_size=(16, 16)).to_json()
    files = {"truncated.json": (text[: len(text) // 2], "truncated"),
             "future.json": (text.replace('"schema_version": 1', '"schema_version": 9'), "newer version"),
             "list.json": ("[1]", "JSON object")}
    shown = []
    # Only the file dialog and the message box are replaced: they would wait for a person.
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda parent, title, msg: shown.append(msg)))
    before = state.model_spec
    for file_name, (content, words) in files.items():
        path = tmp_path / file_name
        path.write_text(content, encoding="utf-8")
        monkeypatch.setattr(QFileDialog, "getOpenFileName",
                            staticmethod(lambda *a, p=str(path), **k: (p, "JSON (*.json)")))
        panel._load_dialog()
        assert shown and file_name in shown[-1] and words in shown[-1], shown[-1:]
        assert state.model_spec is before  # the current spec is kept
    assert len(shown) == len(files)


def test_clear_cache_from_the_tools_menu(qtbot, tmp_path, monkeypatch, window):
    from PySide6.QtWidgets import QMessageBox

    from training.data import cache_size, open_dataset
    from tests.decoded import load_arrays
    from workbench.widgets.wrap import human_size

    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    data = make_class_folder(tmp_path / "data", per_class=6)
    load_arrays(open_dataset(str(data)), (16, 16), "rgb")
    size = cache_size()
    assert size > 0
    tools = [a for a in window.menuBar().actions() if a.text() == "&Tools"][0].menu()
    assert window.clear_cache_action in tools.actions()
    asked = []

    def answer(reply):
        def question(parent, title, text, *args):
            asked.append(text)
            return reply
        return staticmethod(question)

    # Declined: nothing is deleted. The confirmation shows the current size.
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    window.clear_cache_action.trigger()
    assert cache_size() == size
    assert len(asked) == 1 and human_size(size) in asked[0]
    # Confirmed: the cache is emptied and the status bar says how much was freed.
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    window.clear_cache_action.trigger()
    assert cache_size() == 0
    assert window.statusBar().currentMessage() == \
        f"Cleared the decoded-image cache: {human_size(size)} freed."
    assert window.last_clear_seconds < 1.0
    assert window.clear_cache(confirm=False) == 0  # nothing left; no dialog in tests
    assert all(p.is_file() for p in data.rglob("*.png"))  # the images are untouched
