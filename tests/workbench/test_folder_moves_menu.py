"""Edit → Apply label fixes to folders: asks first (Cancel moves nothing), moves the
relabelled image into its new class folder and reopens the dataset; Edit → Undo folder move
puts every file back byte-identical."""
from __future__ import annotations

import os

import pytest
from tests.imagegen import make_class_folder
from tests.training.data.test_overlay import file_hashes
from tests.workbench.panels import answer_box, make_window


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    w = make_window(qtbot, tmp_path, monkeypatch, own_runs=True)
    yield w
    w.shutdown()


def _answer(button_text: str, seen: list) -> None:
    answer_box(button_text, seen)


def test_apply_label_fixes_to_folders_asks_moves_and_undoes(qtbot, window, tmp_path):
    from tests.workbench.panels import load_overlay

    root = make_class_folder(tmp_path / "data", per_class=4, size=8)
    before = file_hashes(root)
    with qtbot.waitSignal(window.state.datasetChanged, timeout=20000):
        window.panels["data"].open_path(str(root))
    src = str(root / "cat" / "cat_001.png")
    window.state.label_fixes.relabel([src], "fox")
    acts = window.folder_actions
    seen: list = []

    _answer("Cancel", seen)
    acts["apply_folders"].trigger()
    assert seen and "Move 1 image" in seen[0]
    assert file_hashes(root) == before                       # cancelled: nothing moved

    _answer("Move files", seen)
    with qtbot.waitSignal(window.state.datasetChanged, timeout=20000):  # reopened
        acts["apply_folders"].trigger()
    moved = str(root / "fox" / "cat_001.png")
    assert os.path.isfile(moved) and not os.path.exists(src)
    index = window.state.dataset
    assert index.classes[int(index.labels[index.paths.index(moved)])] == "fox"
    assert load_overlay(str(root)).labels == {}

    _answer("Put files back", seen)
    with qtbot.waitSignal(window.state.datasetChanged, timeout=20000):
        acts["undo_folders"].trigger()
    assert file_hashes(root) == before
    assert load_overlay(str(root)).state(src) == ("fox", False)
    index = window.state.dataset
    assert index.classes[int(index.labels[index.paths.index(src)])] == "fox"  # the overlay again
