"""The runs list tells runs apart and manages them (issue 11.7): a Dataset column,
filters by dataset, model and status, and a right-click menu to rename, add notes,
delete (after confirmation), open the containing folder and copy the path."""
import json
import shutil

import pytest
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox

from tests.workbench.panels import wait_idle
from tests.workbench.tiny_run import tiny_run
from workbench.panels.results_runs import COLUMNS, PathRole, RunsList
from workbench.widgets.path_menu import shown_path_menu


@pytest.fixture
def runs_list(qtbot, tmp_path):
    root = tmp_path / "runs"
    for name, status in (("r1", "complete"), ("r2", "stopped"), ("r3", "complete")):
        shutil.copytree(tiny_run()["run_dir"], root / name)
        info = json.loads((root / name / "run.json").read_text())
        info.update(status=status, started=info["started"] + int(name[1]))
        if name == "r3":
            info["model"] = "mlp"
        (root / name / "run.json").write_text(json.dumps(info))
    w = RunsList(str(root))
    qtbot.addWidget(w)
    w.resize(1000, 400)
    w.show()
    w.refresh()
    wait_idle(qtbot, w)
    yield w
    w.shutdown()


def _row(w, name):
    t = w.table
    return next(r for r in range(t.rowCount()) if t.item(r, 0).data(PathRole).endswith(name))


def _menu(qtbot, w, name):
    t = w.table
    rect = t.visualItemRect(t.item(_row(w, name), 0))
    t.customContextMenuRequested.emit(rect.center())
    menu = shown_path_menu(t)
    return {a.text(): a for a in menu.actions() if a.text()}


def test_dataset_column_and_filters(qtbot, runs_list):
    w = runs_list
    t = w.table
    col = COLUMNS.index("Dataset")
    data = tiny_run()["data"].rstrip("/").split("/")[-1]
    assert all(t.item(r, col).text().startswith(data) and "images" in t.item(r, col).text()
               for r in range(t.rowCount()))
    w.filters["model"].setCurrentIndex(w.filters["model"].findData("mlp"))
    assert [p.split("/")[-1] for p in w.visible_paths()] == ["r3"]
    w.filters["model"].setCurrentIndex(0)
    w.filters["status"].setCurrentIndex(w.filters["status"].findData("stopped"))
    assert [p.split("/")[-1] for p in w.visible_paths()] == ["r2"]
    w.filters["status"].setCurrentIndex(0)
    assert len(w.visible_paths()) == 3


def test_rename_notes_copy_and_delete(qtbot, runs_list, monkeypatch):
    w = runs_list
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("baseline", True)))
    monkeypatch.setattr(QInputDialog, "getMultiLineText",
                        staticmethod(lambda *a, **k: ("tried lr 3e-3", True)))
    actions = _menu(qtbot, w, "r1")
    assert {"Rename…", "Notes…", "Delete run…", "Open containing folder", "Copy path"} <= set(actions)
    actions["Rename…"].trigger()
    wait_idle(qtbot, w)
    assert w.table.item(_row(w, "r1"), 0).text() == "baseline"
    _menu(qtbot, w, "r1")["Notes…"].trigger()
    wait_idle(qtbot, w)
    assert "tried lr 3e-3" in w.table.item(_row(w, "r1"), 0).toolTip()
    _menu(qtbot, w, "r1")["Copy path"].trigger()
    path = w.table.item(_row(w, "r1"), 0).data(PathRole)
    assert QApplication.clipboard().text() == path

    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *a, **k: QMessageBox.StandardButton.No))
    _menu(qtbot, w, "r1")["Delete run…"].trigger()
    assert (json.loads(open(path + "/run.json").read())["display_name"] == "baseline")
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    with qtbot.waitSignal(w.runDeleted, timeout=5000):
        _menu(qtbot, w, "r1")["Delete run…"].trigger()
    wait_idle(qtbot, w)
    import os

    assert not os.path.exists(path) and os.path.isdir(tiny_run()["data"])
    assert w.table.rowCount() == 2
