"""The window meets hostile dataset and run folders (issue 25): Edit → Undo folder move
refuses the issue's journal, label fixes made elsewhere wait for the user's answer, and a
followed run folder full of junk never hangs or crashes the window. Nothing outside the
folders changes (a sentinel tree's hash)."""
from __future__ import annotations

import json
import os

from tests.hostile_folders import deep_json, foreign_overlay, hostile_journal, sentinel, tree_hash
from tests.imagegen import make_class_folder
from tests.training.data.test_overlay import file_hashes
from tests.workbench.panels import answer_box
from tests.workbench.test_folder_moves_menu import window  # noqa: F401  (fixture)
# Imported here, on the main thread: the window's background import of the panels' modules
# (matplotlib) can race the Dataset panel's chart import on the GUI thread and leave a
# partially initialised module (seen on main too; reported in the notes).
import workbench.charts.base  # noqa: F401


def _answer_any(seen: list, prefer: str) -> None:
    """Answer the next message box: ``prefer`` if it offers that button (the confirmation
    a user would accept), else its first button."""
    answer_box(prefer, seen, or_first=True)


def _open(qtbot, window, path) -> None:
    with qtbot.waitSignal(window.state.datasetChanged, timeout=20000):
        window.panels["data"].open_path(str(path))


def test_undo_folder_move_refuses_the_issues_journal(qtbot, window, tmp_path):
    """The issue's reproduction through the real menu action, the question answered "Put
    files back" if the app asks: before the fix the user's file moved into the dataset and
    the overlay path was overwritten."""
    data = make_class_folder(tmp_path / "data", per_class=3, size=8)
    outside = sentinel(tmp_path)
    before, images = tree_hash(outside), file_hashes(data)
    hostile_journal(data, outside)
    _open(qtbot, window, data)
    seen: list = []
    _answer_any(seen, "Put files back")
    window.folder_actions["undo_folders"].trigger()
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert tree_hash(outside) == before and file_hashes(data) == images
    assert "No folder move of this dataset to undo" in seen[0]
    assert "refused" in seen[0] and "not written by this app" in seen[0]


def test_undo_confirmation_lists_the_moves_both_ways(qtbot, window, tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=4, size=8)
    _open(qtbot, window, data)
    fixes = window.state.label_fixes
    fixes.relabel([str(data / "cat" / f"cat_00{i}.png") for i in range(3)], "fox")
    seen: list = []
    _answer_any(seen, "Move files")
    with qtbot.waitSignal(window.state.datasetChanged, timeout=20000):
        window.folder_actions["apply_folders"].trigger()
    assert "Move 3 images" in seen[0] and "cat/cat_000.png  →  fox/cat_000.png" in seen[0]
    _answer_any(seen, "Cancel")
    window.folder_actions["undo_folders"].trigger()
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=5000)
    assert "Put 3 moved images back" in seen[1]
    assert "fox/cat_000.png  →  cat/cat_000.png" in seen[1]
    assert os.path.isfile(data / "fox" / "cat_000.png")   # cancelled: nothing moved back


def test_label_fixes_made_elsewhere_wait_for_the_users_answer(qtbot, window, tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=3, size=8)
    foreign_overlay(data, {"cat/cat_000.png": "dog"}, excluded=["dog/dog_001.png"])
    _open(qtbot, window, data)
    panel, index = window.panels["data"], window.state.dataset
    banner = panel.foreign_banner
    assert banner.isVisible()
    assert banner.text.text().startswith("1 label fix and 1 exclusion come with this dataset "
                                         "(made elsewhere): not applied")
    assert len(index) == 9 and window.state.label_fixes.count() == 0
    with qtbot.waitSignal(window.state.datasetChanged, timeout=20000):
        banner.apply_button.click()
    index = window.state.dataset
    cat0 = str(data / "cat" / "cat_000.png")
    assert len(index) == 8 and index.labels[index.paths.index(cat0)] == index.classes.index("dog")
    assert "applied, as you accepted them" in banner.text.text()
    assert not banner.apply_button.isVisible() and not banner.ignore_button.isVisible()
    _open(qtbot, window, data)   # asked once: remembered
    assert len(window.state.dataset) == 8


def test_following_a_hostile_run_folder_never_hangs_or_crashes(qtbot, window, tmp_path):
    run = tmp_path / "shared" / "run"
    run.mkdir(parents=True)
    outside = sentinel(tmp_path)
    before = tree_hash(outside)
    (run / "run.json").write_text(deep_json())
    (run / "history.json").write_text(json.dumps(
        [{"epoch": "one", "loss": "NaN"}, {"epoch": 1, "loss": [1], "accuracy": 0.5,
                                            "val_loss": None}, 7, None]))
    (run / "live.json").write_text(json.dumps({"schema_version": 1, "status": "x",
                                               "progress": {"done": "a", "total": 3}}))
    os.mkfifo(run / "config.json")   # opening it for reading would block
    os.symlink(outside / "config.json", run / "spec.json")
    os.symlink(outside / "secret.keras", run / "model_final.keras")
    training = window.panels["train"]
    training.follow_run(str(run))
    idle = lambda: not training.follower.reading()   # noqa: E731 (files read on the pool)
    qtbot.waitUntil(idle, timeout=10_000)
    log = training.log.toPlainText()
    assert "Progress file ignored" in log and "progress must be" in log
    assert "Epoch 1/" in log and training.epochs_seen == 1    # the one real epoch, cleaned
    assert "Cannot read the run's status" in log and "nested too deeply" in log
    (run / "live.json").write_text(json.dumps({"schema_version": 9}))
    training.follower.watcher.check_now()
    qtbot.waitUntil(lambda: "newer version" in training.log.toPlainText(), timeout=10_000)
    (run / "run.json").write_text("{" + " " * (2 * 1024 * 1024) + "}")
    training.follower.watcher.check_now()
    qtbot.waitUntil(lambda: "may be at most 1.0 MB" in training.log.toPlainText(),
                    timeout=10_000)
    training.follower.unfollow()
    assert tree_hash(outside) == before


def test_results_panel_lists_and_shows_hostile_run_folders_as_messages(qtbot, tmp_path,
                                                                      monkeypatch):
    """A runs folder holding hostile runs: each is listed (invalid, with the reason) or
    shows the reason in the header; the window neither hangs (a FIFO), nor crashes (wrong
    types in evaluation.json), nor loads a model from outside the folder."""
    import shutil

    from tests.workbench.panels import wait_idle
    from tests.workbench.tiny_run import tiny_run
    from workbench.appstate.state import AppState
    from workbench.panels.results import ResultsPanel
    from workbench.panels.results_runs import COLUMN_STATUS, PathRole

    runs = tmp_path / "runs"
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(runs))
    outside = sentinel(tmp_path)
    before = tree_hash(outside)
    good = runs / "evaluation_junk"
    shutil.copytree(tiny_run()["run_dir"], good)
    evaluation = json.loads((good / "evaluation.json").read_text())
    evaluation["confusion_matrix"] = [["x"] * 3] * 3
    (good / "evaluation.json").write_text(json.dumps(evaluation))
    junk = runs / "calibration_junk"   # crashed the header's summary before the checks
    shutil.copytree(tiny_run()["run_dir"], junk)
    evaluation = json.loads((junk / "evaluation.json").read_text())
    evaluation["calibration"] = {"validation": [1], "ece_before": 0.1}
    (junk / "evaluation.json").write_text(json.dumps(evaluation))
    (runs / "deep").mkdir()
    (runs / "deep" / "run.json").write_text(deep_json())
    (runs / "pipe").mkdir()
    os.mkfifo(runs / "pipe" / "run.json")
    for name in ("model_final.keras", "model_best.keras"):
        os.remove(good / name)
        os.symlink(outside / "secret.keras", good / name)

    panel = ResultsPanel(AppState())
    qtbot.addWidget(panel)
    try:
        panel.runs.refresh()
        qtbot.waitUntil(lambda: panel.runs.table.rowCount() == 3, timeout=30000)
        table = panel.runs.table
        status = {os.path.basename(table.item(r, 0).data(PathRole)): table.item(r, COLUMN_STATUS).text()
                  for r in range(table.rowCount())}
        assert status["deep"] == "invalid" and "pipe" not in status, status   # a FIFO: no run
        panel.state.set_run(str(good))
        wait_idle(qtbot, panel)
        text = panel.header.text()
        assert "evaluation.json" in text and "confusion_matrix must be" in text, text
        assert panel.evaluation is None
        panel.state.set_run(str(junk))
        wait_idle(qtbot, panel)
        assert "calibration.validation must be an object" in panel.header.text()
    finally:
        panel.shutdown()
    assert tree_hash(outside) == before


def test_own_fixes_over_ignored_ones_end_the_question(qtbot, window, tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=3, size=8)
    foreign_overlay(data, {"cat/cat_000.png": "dog"})
    _open(qtbot, window, data)
    banner, fixes = window.panels["data"].foreign_banner, window.state.label_fixes
    banner.ignore_button.click()
    assert "as you chose to ignore them" in banner.text.text() and banner.apply_button.isVisible()
    fixes.exclude([str(data / "dog" / "dog_001.png")])
    assert not banner.isVisible() and fixes.foreign is None
    from tests.workbench.panels import load_overlay

    mine = load_overlay(str(data))
    assert mine.made_here and mine.excluded == {"dog/dog_001.png"} and not mine.labels


def test_a_followed_folder_with_very_many_files_is_scanned_in_bounded_time(tmp_path):
    import time

    from workbench.workers.run_watcher import MAX_SNAPSHOT, snapshot

    folder = tmp_path / "run"
    folder.mkdir()
    for i in range(MAX_SNAPSHOT * 3):
        (folder / f"junk_{i:05d}").touch()
    t0 = time.monotonic()
    snap = snapshot(str(folder))
    assert len(snap) == MAX_SNAPSHOT and time.monotonic() - t0 < 1.0
