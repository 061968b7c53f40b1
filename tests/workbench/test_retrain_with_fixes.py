"""A real "Retrain with fixes": relabel an image in the Results gallery, click Retrain with
fixes, a new run trains on the fixed labels (its dataset.json and overlay copy record the
fix), and the runs list shows the old and the new run side by side, selected together for
the curve comparison, the new one marked with its label fix."""
from __future__ import annotations

import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.imagegen import make_class_folder
from tests.training.data.test_overlay import file_hashes
from tests.workbench.panels import make_window, wait_idle


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    w = make_window(qtbot, tmp_path, monkeypatch, own_runs=True, size=(1280, 800))
    yield w
    w.shutdown()


def _row_of(table, path):
    from workbench.panels.results_runs import PathRole
    from workbench.workers.run_watcher import same_path

    return next(r for r in range(table.rowCount()) if same_path(table.item(r, 0).data(PathRole), path))


def test_retrain_with_fixes_trains_a_new_run_listed_beside_the_old(qtbot, window, tmp_path):
    from tests.childcall import call_in_child
    from tests.workbench.panels import load_overlay
    from training.runs.runfolder import RunFolder, read_json
    from workbench.panels.results import SAMPLE
    from workbench.panels.results_runs import COLUMNS

    root = make_class_folder(tmp_path / "data", per_class=8, size=16)
    before = file_hashes(root)
    old = call_in_child("tests.workbench.tfhelpers:train_run", str(root),
                        str(tmp_path / "runs" / "old"))["run_dir"]
    assert not (read_json(RunFolder(old).dataset_json).get("overlay") or {}).get("relabelled")

    data = window.panels["data"]
    with qtbot.waitSignal(window.state.datasetChanged, timeout=20000):
        data.open_path(str(root))
    results = window.panels["results"]
    window.show_panel("results")
    results.load_run(old)
    qtbot.waitUntil(lambda: results.evaluation is not None, timeout=60000)
    results.gallery_choice.setCurrentIndex(SAMPLE)   # every image listed, right or wrong
    qtbot.waitUntil(lambda: bool(results.gallery.items), timeout=30000)

    # Relabel the first gallery image to another class with its number key.
    g = results.gallery
    item = g.items[0]
    classes = list(window.state.dataset.classes)
    new_label = next(c for c in classes if c != item["true"])
    g.list.setFocus()
    g.list.setCurrentRow(0)
    QTest.keyClick(g.list, Qt.Key.Key_1 + classes.index(new_label))
    assert load_overlay(str(root)).state(item["path"]) == (new_label, False)

    health = results.health
    assert health.retrain_button.isEnabled()
    train_panel = window.panels["train"]
    qtbot.mouseClick(health.retrain_button, Qt.MouseButton.LeftButton)
    assert train_panel.is_training()
    qtbot.waitUntil(lambda: not train_panel.is_training(), timeout=120000)
    new = window.state.run_dir
    assert new and os.path.normpath(new) != os.path.normpath(old)
    assert read_json(os.path.join(new, "run.json"))["status"] == "complete"
    record = read_json(RunFolder(new).dataset_json)["overlay"]
    assert record["relabelled"] == 1 and record["excluded"] == 0
    assert os.path.isfile(RunFolder(new).label_overlay_json)

    # The runs list: both runs selected together, the new one marked with its fix.
    runs = results.runs
    qtbot.waitUntil(lambda: sorted(map(os.path.normpath, runs.selected_paths()))
                    == sorted(map(os.path.normpath, [old, new])), timeout=30000)
    table, dataset_col = runs.table, COLUMNS.index("Dataset")
    assert "1 label fix" in table.item(_row_of(table, new), dataset_col).text()
    assert "label fix" not in table.item(_row_of(table, old), dataset_col).text()
    assert len(runs.compare.runs) == 2   # both validation curves in the comparison chart
    # The status says it finished (not "Retraining…" for ever), naming the new run.
    assert "Retraining" not in health.status.text() and os.path.basename(new) in health.status.text()
    # Still both selected once every background listing has settled (issue 22 item 2).
    wait_idle(qtbot, results)
    runs.refresh()
    wait_idle(qtbot, results)
    assert sorted(map(os.path.normpath, runs.selected_paths())) == sorted(map(os.path.normpath, [old, new]))
    assert os.path.normpath(results.run_dir) == os.path.normpath(new)
    wait_idle(qtbot, results)
    wait_idle(qtbot, train_panel)
    assert file_hashes(root) == before
