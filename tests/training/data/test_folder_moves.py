"""Applying label fixes to the class folders: relabelled images move to their new class's
folder, a name clash refuses the whole plan, nothing is ever deleted, and the journal's
undo puts every file back byte-identical (also after an interrupted apply)."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.imagegen import make_class_folder
from tests.training.data.test_overlay import file_hashes
from training.data import open_dataset
from training.data.overlay import load_overlay
from training.data.folder_moves import (FolderMoveError, apply_moves, last_journal, plan_moves,
                                   undo_moves)


def _relabel(root, fixes: dict, exclude=()):
    raw = open_dataset(str(root), overlay=False)
    overlay = load_overlay(raw.root)
    for name, label in fixes.items():
        overlay.relabel(os.path.join(str(root), name), label)
    for name in exclude:
        overlay.exclude(os.path.join(str(root), name))
    overlay.save()
    return open_dataset(str(root))


def test_apply_moves_then_undo_restores_every_file(tmp_path):
    root = make_class_folder(tmp_path / "data", per_class=4, size=8)
    before = file_hashes(root)
    index = _relabel(root, {"cat/cat_000.png": "dog", "dog/dog_001.png": "fox"},
                     exclude=["fox/fox_002.png"])
    moves = plan_moves(index)
    assert sorted((os.path.relpath(m.src, root), os.path.relpath(m.dst, root)) for m in moves) == [
        ("cat/cat_000.png", "dog/cat_000.png"), ("dog/dog_001.png", "fox/dog_001.png")]

    journal = apply_moves(index, moves)
    assert last_journal(str(root)) == journal
    after = file_hashes(root)
    assert sorted(after.values()) == sorted(before.values())     # moved, none lost or changed
    assert after[str(root / "dog" / "cat_000.png")] == before[str(root / "cat" / "cat_000.png")]
    reopened = open_dataset(str(root))
    ov = load_overlay(reopened.root)
    assert ov.labels == {} and len(ov.excluded) == 1              # the folders say it now
    dog = reopened.classes.index("dog")
    assert reopened.labels[reopened.paths.index(str(root / "dog" / "cat_000.png"))] == dog
    assert len(reopened) == 11

    assert undo_moves(journal, str(root)) == 2
    assert file_hashes(root) == before                            # same names, same bytes
    assert load_overlay(str(root)).state(str(root / "cat" / "cat_000.png")) == ("dog", False)
    assert last_journal(str(root)) is None


def test_name_clash_refuses_the_whole_plan(tmp_path):
    root = make_class_folder(tmp_path / "data", per_class=3, size=8)
    shutil.copy(root / "dog" / "dog_000.png", root / "dog" / "cat_001.png")  # the name is taken
    before = file_hashes(root)
    index = _relabel(root, {"cat/cat_000.png": "dog", "cat/cat_001.png": "dog"})
    with pytest.raises(FolderMoveError, match="cat_001.png"):
        plan_moves(index)
    assert file_hashes(root) == before


def test_undo_after_an_interrupted_apply_and_non_folder_datasets(tmp_path):
    root = make_class_folder(tmp_path / "data", per_class=3, size=8)
    before = file_hashes(root)
    index = _relabel(root, {"cat/cat_000.png": "dog", "cat/cat_001.png": "fox"})
    moves = plan_moves(index)
    # A destination that appears between planning and moving: the moves so far go back.
    late = moves[-1].dst
    shutil.copy(root / "fox" / "fox_000.png", late)
    with pytest.raises(FolderMoveError, match="appeared"):
        apply_moves(index, moves)
    os.remove(late)
    assert file_hashes(root) == before

    import numpy as np
    npz = tmp_path / "arrays.npz"
    np.savez(npz, x=np.zeros((4, 8, 8), np.uint8), y=np.array([0, 1, 0, 1]))
    with pytest.raises(FolderMoveError, match="class-folder"):
        plan_moves(open_dataset(str(npz)))
