"""A dataset's ``.workbench/`` folder is data from whoever shared the dataset (issue 25):
move journals are checked before any file moves, label fixes made elsewhere are never
applied silently, and nothing outside the dataset changes (a sentinel tree's hash)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from tests.hostile_folders import (deep_json, foreign_overlay, hostile_journal, journal_folder,
                                   sentinel, tree_hash)
from tests.imagegen import make_class_folder
from tests.training.data.test_overlay import file_hashes
from training.data import open_dataset
from training.data.folder_moves import (FolderMoveError, apply_moves, find_undo, last_journal,
                                        plan_moves, undo_moves)
from training.data.overlay import LabelOverlay, OverlayError, load_overlay
from training.data.overlay_apply import foreign_message, trusted_overlay


@pytest.fixture
def world(tmp_path):
    """A class-folder dataset and, beside it, the user's other files."""
    data = make_class_folder(tmp_path / "data", per_class=3, size=8)
    outside = sentinel(tmp_path)
    return data, outside, tree_hash(outside)


# -- move journals ------------------------------------------------------------------------
def test_the_issues_journal_is_never_offered_and_never_moves_anything(world):
    data, outside, before = world
    images = file_hashes(data)
    journal = hostile_journal(data, outside)
    assert last_journal(str(data)) is None            # before: offered as "the newest move"
    offered, refused = find_undo(str(data))
    assert offered is None and [p for p, _ in refused] == [str(journal)]
    assert "not written by this app" in refused[0][1]
    with pytest.raises(FolderMoveError, match="no valid signature"):
        undo_moves(str(journal), str(data))
    assert tree_hash(outside) == before and file_hashes(data) == images


@pytest.mark.parametrize("case", ["dst_outside", "src_outside", "dotdot", "relative",
                                  "symlinked_folder", "created_dir_outside", "other_root",
                                  "wrong_type", "future", "nan", "deep", "huge"])
def test_every_check_refuses_a_journal_with_its_reason(world, tmp_path, case):
    """Signed with this user's key (as if written here), so each path check is what stops it."""
    data, outside, before = world
    escape = data / "cat" / "escape"
    kwargs, reason = {}, "outside the dataset"
    if case == "src_outside":
        kwargs = {"src": outside / "x.png", "dst": data / "dog" / "dog_000.png"}
    elif case == "dotdot":
        kwargs = {"dst": f"{data}/cat/../../outside/victim.txt"}
    elif case == "relative":
        kwargs, reason = {"dst": "../outside/victim.txt"}, "not an absolute path"
    elif case == "symlinked_folder":   # inside by name, outside once the link is followed
        os.symlink(outside, escape, target_is_directory=True)
        kwargs = {"dst": escape / "victim.txt"}
    elif case == "created_dir_outside":
        kwargs = {"src": data / "cat" / "a.png", "dst": data / "cat" / "cat_000.png",
                  "created_dirs": [str(outside / "docs")]}
    elif case == "other_root":
        kwargs, reason = {"root": str(outside), "dst": outside / "victim.txt"}, "journal of the dataset"
    elif case == "wrong_type":
        kwargs, reason = {"moves": {"src": 1}}, "must be a list"
    path = hostile_journal(data, outside, signed=True, **kwargs)
    if case == "future":
        path.write_text(json.dumps({**json.loads(path.read_text()), "schema_version": 7}))
        reason = "newer version"
    elif case == "nan":
        path.write_text(path.read_text().replace('"undone": false', '"undone": NaN'))
        reason = "NaN"
    elif case == "deep":
        path.write_text('{"schema_version": 1, "moves": ' + deep_json() + "}")
        reason = "nested too deeply"
    elif case == "huge":
        with open(path, "w") as f:
            f.write('{"schema_version": 1, "pad": "')
            f.truncate(70 * 1024 * 1024)   # sparse: 70 MB without writing them
        reason = "may be at most"
    offered, refused = find_undo(str(data))
    assert offered is None and len(refused) == 1 and reason in refused[0][1], refused
    with pytest.raises(FolderMoveError, match=reason.split()[0]):
        undo_moves(str(path), str(data))
    assert tree_hash(outside) == before
    assert os.path.isfile(data / "cat" / "cat_000.png")


def test_a_symlink_loop_in_a_journal_path_is_refused_or_fails_cleanly(world):
    data, outside, before = world
    os.symlink("loop_b", data / "cat" / "loop_a")
    os.symlink("loop_a", data / "cat" / "loop_b")
    path = hostile_journal(data, outside, signed=True, dst=data / "cat" / "loop_a" / "x.png")
    journal, refused = find_undo(str(data))
    if journal is not None:   # inside by name: then undo finds nothing to move
        assert undo_moves(journal, str(data)) == 0
    else:
        assert refused and str(path) == refused[0][0]
    assert tree_hash(outside) == before


def test_undo_restores_the_datasets_own_overlay_never_the_journals_path(world):
    from training.data.provenance import sign

    data, outside, before = world
    images = file_hashes(data)
    ov = LabelOverlay(root=str(data))
    ov.relabel(str(data / "cat" / "cat_000.png"), "dog")
    ov.save()
    index = open_dataset(str(data))
    journal = apply_moves(index, plan_moves(index))
    raw = json.loads(open(journal).read())
    # Tampered by someone who can write the dataset: the signature no longer matches.
    tampered = {**raw, "moves": [{**raw["moves"][0], "dst": str(outside / "victim.txt")}]}
    open(journal, "w").write(json.dumps(tampered))
    with pytest.raises(FolderMoveError, match="signature"):
        undo_moves(journal, str(data))
    # Even a journal this app signed may name an overlay path (older versions wrote one):
    # the overlay goes back into the dataset's own file, never there.
    open(journal, "w").write(json.dumps(sign({**raw, "overlay_path": str(outside / "config.json")})))
    assert undo_moves(journal, str(data)) == 1
    assert file_hashes(data) == images and tree_hash(outside) == before
    assert load_overlay(str(data)).path == str(data / ".workbench" / "labels.json")
    assert load_overlay(str(data)).state(str(data / "cat" / "cat_000.png")) == ("dog", False)
    assert last_journal(str(data)) is None   # marked undone, still signed


def test_a_workbench_folder_linking_out_of_the_dataset_is_neither_read_nor_written(world):
    data, outside, before = world
    os.symlink(outside / "docs", data / ".workbench", target_is_directory=True)
    (outside / "docs" / "labels.json").write_text(json.dumps(
        {"schema_version": 1, "labels": {"cat/cat_000.png": "dog"}, "excluded": []}))
    before = tree_hash(outside)
    with pytest.raises(OverlayError, match="link out of the dataset"):
        load_overlay(str(data))
    index = open_dataset(str(data))
    assert any("link out of the dataset" in w for w in index.warnings)
    ov, _ = LabelOverlay(root=str(data)), None
    ov.exclude(str(data / "cat" / "cat_001.png"))
    saved = ov.save()
    assert not saved.startswith(str(data)) and tree_hash(outside) == before
    assert last_journal(str(data)) is None


# -- the signing key ----------------------------------------------------------------------
def test_the_key_is_private_and_created_once_even_by_racing_processes(tmp_path):
    env = {**os.environ, "WORKBENCH_DATA_DIR": str(tmp_path / "appdata")}
    code = "from training.data.provenance import key; print(key().hex())"
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                              text=True) for _ in range(4)]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(keys) == 1 and len(keys.pop()) == 64
    path = tmp_path / "appdata" / "provenance.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [n for n in os.listdir(tmp_path / "appdata") if n != "provenance.key"] == []


# -- label fixes that come with a dataset -------------------------------------------------
def test_label_fixes_made_elsewhere_are_not_applied_until_accepted(world):
    data, outside, before = world
    cat0 = str(data / "cat" / "cat_000.png")
    foreign_overlay(data, {"cat/cat_000.png": "dog", "cat/cat_001.png": "fox"},
                    excluded=["dog/dog_000.png"])
    index = open_dataset(str(data))
    assert len(index) == 9 and index.labels[index.paths.index(cat0)] == index.classes.index("cat")
    expected = "2 label fixes and 1 exclusion come with this dataset (made elsewhere)"
    assert any(w.startswith(expected + ": not applied") for w in index.warnings)
    foreign = index.overlay["foreign"]
    assert foreign["decision"] is None and foreign_message(foreign).startswith(expected)

    index = open_dataset(str(data), dataset_labels="apply")
    assert len(index) == 8 and index.labels[index.paths.index(cat0)] == index.classes.index("dog")
    again = open_dataset(str(data))    # remembered, per dataset and content
    assert len(again) == 8 and again.overlay["foreign"]["decision"] == "apply"

    foreign_overlay(data, {"cat/cat_000.png": "fox"})   # changed: asked again
    assert open_dataset(str(data)).overlay["foreign"]["decision"] is None
    index = open_dataset(str(data), dataset_labels="ignore")
    assert index.labels[index.paths.index(cat0)] == index.classes.index("cat")
    assert open_dataset(str(data)).overlay["foreign"]["decision"] == "ignore"
    assert tree_hash(outside) == before


def test_ignored_fixes_are_kept_aside_when_the_user_makes_their_own(world, tmp_path):
    from training.userdirs import user_folder

    data, outside, before = world
    path = foreign_overlay(data, {"cat/cat_000.png": "dog"})
    theirs = path.read_bytes()
    ov, foreign = trusted_overlay(str(data), "ignore")
    assert len(ov) == 0 and foreign["decision"] == "ignore"
    ov.exclude(str(data / "dog" / "dog_002.png"))
    ov.save()
    mine = load_overlay(str(data))
    assert mine.made_here and mine.excluded == {"dog/dog_002.png"} and not mine.labels
    kept = os.path.join(user_folder("data"), "overlays", "set-aside")
    assert any(open(os.path.join(kept, n), "rb").read() == theirs for n in os.listdir(kept))
    assert trusted_overlay(str(data))[1] is None        # the user's own now: no question


def test_overlay_entries_that_leave_the_dataset_are_ignored_with_a_warning(world):
    data, outside, before = world
    ov = LabelOverlay(root=str(data), labels={"cat/cat_000.png": "dog", "../outside/victim.txt": "cat",
                                              "/etc/passwd": "cat"},
                      excluded={"dog/../../outside/config.json", "dog/dog_000.png"})
    ov.save()   # signed: the user's own file, yet the escaping entries never count
    loaded = load_overlay(str(data))
    assert loaded.outside == ["../outside/victim.txt", "/etc/passwd", "dog/../../outside/config.json"]
    assert set(loaded.labels) == {"cat/cat_000.png"} and loaded.excluded == {"dog/dog_000.png"}
    index = open_dataset(str(data))
    assert any("3 label-fix entries name paths outside the dataset" in w for w in index.warnings)
    assert len(index) == 8 and tree_hash(outside) == before


@pytest.mark.parametrize("content, reason", [
    (lambda: deep_json(), "nested too deeply"),
    (lambda: '{"schema_version": 1, "labels": {"a": NaN}}', "NaN"),
    (lambda: '{"schema_version": 1, "labels": ["a"]}', "must map"),
    (lambda: '{"schema_version": 3}', "newer version"),
])
def test_damaged_overlays_give_a_clear_message_and_the_dataset_still_opens(world, content, reason):
    data, outside, before = world
    (data / ".workbench").mkdir()
    (data / ".workbench" / "labels.json").write_text(content())
    with pytest.raises(OverlayError, match=reason):
        load_overlay(str(data))
    index = open_dataset(str(data))
    assert len(index) == 9 and any(reason in w for w in index.warnings)
    assert tree_hash(outside) == before


def test_a_planted_temp_link_is_never_written_through(world):
    """The old temp name (``labels.json.<pid>.tmp``) could be planted as a link to a
    user's file; writes now use fresh, exclusively created names."""
    data, outside, before = world
    (data / ".workbench").mkdir()
    for name in (f"labels.json.{os.getpid()}.tmp", "labels.json.tmp"):
        os.symlink(outside / "config.json", data / ".workbench" / name)
    ov = LabelOverlay(root=str(data))
    ov.exclude(str(data / "cat" / "cat_000.png"))
    ov.save()
    index = open_dataset(str(data))
    journal = apply_moves(index, plan_moves(index))   # no moves: the journal is written anyway
    assert os.path.dirname(journal) == str(journal_folder(data))
    assert tree_hash(outside) == before
