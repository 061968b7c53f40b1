"""Sorting a folder with a run's model (issue 23 item 4), on real files with a real tiny
run: the plan's counts, copies and moves that never overwrite, the journal and its undo,
unreadable files, Unicode names, a read-only source and a full disk."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.imagegen import class_image, write_image
from tests.training.sorting.sortutil import make_photos, mount, tree, umount
from tests.training.trainutil import ROOT
from training.sorting import DiskFullError, SortError, apply_sort, plan_sort, undo_sort
from training.sorting.plan import SortPlan, folder_name


@pytest.fixture(scope="module")
def predictor(mlp_run):
    from training.export.predictor import open_predictor

    return open_predictor(mlp_run[0].run_dir)


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "appdata"))


def test_plan_counts_every_photo_reports_unreadable_and_changes_nothing(tmp_path, predictor):
    src = make_photos(tmp_path / "photos")
    before = tree(src)
    plan = plan_sort(predictor, str(src), str(tmp_path / "sorted"))
    counts = plan.counts()
    assert list(counts) == ["cat", "dog", "fox", "unknown"]
    assert sum(counts.values()) == len(plan.items) == 13
    assert [(Path(u["path"]).name, bool(u["reason"])) for u in plan.unreadable] == [("broken.jpg", True)]
    assert [Path(s["path"]).name for s in plan.skipped] == ["notes.txt"]
    # The tiny model learned the patterns: most photos land in their own class's folder.
    right = sum(Path(p).name.startswith(folder) for p, folder in plan.items)
    assert right >= 8, plan.items
    assert tree(src) == before and not (tmp_path / "sorted").exists()
    again = SortPlan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again.items == plan.items and again.counts() == counts


def test_copy_never_overwrites_and_undo_deletes_only_its_copies(tmp_path, predictor):
    src = make_photos(tmp_path / "photos")
    for sub in ("a", "b"):   # two photos of one name: the second gets " (2)"
        write_image(src / sub / "same.png", class_image(0, 16, np.random.default_rng(9)))
    dest = tmp_path / "sorted"
    for folder in ("cat", "dog", "fox", "unknown"):   # a photo of each name already there
        for name in ("cat photo 0.png", "dog photo 0.png", "fox photo 0.png"):
            (dest / folder).mkdir(parents=True, exist_ok=True)
            (dest / folder / name).write_bytes(b"the user's own file")
    src_before, dest_before = tree(src), tree(dest)
    plan = plan_sort(predictor, str(src), str(dest))
    result = apply_sort(plan)
    assert result["done"] == 15 and result["failed"] == [] and result["operation"] == "copy"
    after = tree(dest)
    assert all(after[k] == v for k, v in dest_before.items())   # nothing overwritten
    assert len(after) == len(dest_before) + 15
    assert sum(1 for k in after if k.endswith("photo 0 (2).png")) == 3
    assert sum(1 for k in after if os.path.basename(k) in ("same.png", "same (2).png")) == 2
    assert any("chat_ü_😀.png" in k for k in after)
    assert not [k for k in after if os.path.basename(k).startswith(".")]   # no temp left
    assert tree(src) == src_before
    # A copy changed since the sort is the user's now: undo keeps it and says so.
    changed = next(Path(dest, k) for k in after if k not in dest_before)
    changed.write_bytes(b"edited after the sort")
    undone = undo_sort(result["journal"])
    assert undone["restored"] == 14
    assert [Path(k["path"]) for k in undone["kept"]] == [changed]
    assert tree(dest) == {**dest_before, str(changed.relative_to(dest)): tree(dest)[str(changed.relative_to(dest))]}
    assert tree(src) == src_before
    with pytest.raises(SortError, match="undone already"):
        undo_sort(result["journal"])


def test_move_then_undo_puts_every_photo_back_byte_for_byte(tmp_path, predictor):
    src = make_photos(tmp_path / "photos")
    before = tree(src)
    dest = tmp_path / "new" / "sorted"
    plan = plan_sort(predictor, str(src), str(dest))
    result = apply_sort(plan, move=True)
    assert result["done"] == 13 and result["operation"] == "move"
    left = tree(src)
    assert sorted(left) == ["broken.jpg", "notes.txt"]   # unreadable and other files stay
    assert sorted(tree(dest).values()) == sorted(v for k, v in before.items() if k not in left)
    undone = undo_sort(result["journal"])
    assert undone["restored"] == 13 and undone["kept"] == []
    assert tree(src) == before
    assert not dest.exists()   # the folders the sort made are gone again


def test_read_only_source_still_sorts_by_copying_and_move_is_refused(tmp_path, predictor):
    src = make_photos(tmp_path / "photos")
    before = tree(src)
    ro = tmp_path / "ro"
    if os.geteuid() == 0:   # root writes through permissions: a read-only bind mount
        mount(["--bind", "-o", "ro", str(src)], ro)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True)
    else:
        ro = src
        for dirpath, _dirs, _files in os.walk(src):
            os.chmod(dirpath, 0o555)
    try:
        plan = plan_sort(predictor, str(ro), str(tmp_path / "sorted"))
        with pytest.raises(SortError, match="read-only.*Sort by copying instead"):
            apply_sort(plan, move=True)
        assert not (tmp_path / "sorted").exists()
        result = apply_sort(plan)
        assert result["done"] == 13 and result["failed"] == []
        assert len(tree(tmp_path / "sorted")) == 13
        assert tree(ro) == before
    finally:
        if ro != src:
            umount(ro)
        else:
            for dirpath, _dirs, _files in os.walk(src):
                os.chmod(dirpath, 0o755)


def test_full_disk_stops_with_a_message_naming_the_destination(tmp_path, predictor):
    """A real small file system (a 16 KiB tmpfs: four 4 KiB pages) fills up mid-sort."""
    src = make_photos(tmp_path / "photos")
    dest = tmp_path / "small"
    mount(["-t", "tmpfs", "-o", "size=16k", "tmpfs"], dest)
    try:
        plan = plan_sort(predictor, str(src), str(dest))
        with pytest.raises(DiskFullError, match=f"{dest} is full.*sort --undo") as info:
            apply_sort(plan)
        journal = str(info.value).rsplit("--undo ", 1)[1]
        made = tree(dest)
        assert 0 < len(made) < 13
        assert not [k for k in made if os.path.basename(k).startswith(".")]   # no half copy
        assert undo_sort(journal)["restored"] == len(made)
        assert os.listdir(dest) == []
    finally:
        umount(dest)


def test_file_size_limit_in_a_child_stops_the_sort_like_a_full_disk(tmp_path, mlp_run):
    """RLIMIT_FSIZE (no root needed): writing a photo larger than the limit fails with
    EFBIG in a real ``python -m training sort`` child, which stops with the message."""
    src = make_photos(tmp_path / "photos", per_class=2)
    rng = np.random.default_rng(1)
    write_image(src / "big.png", rng.integers(0, 255, (300, 300, 3), dtype=np.uint8))
    assert (src / "big.png").stat().st_size > 200_000

    def limit():
        import resource
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    env = {**os.environ, "PYTHONPATH": str(ROOT), "WORKBENCH_LOG_DIR": str(tmp_path / "logs")}
    done = subprocess.run([sys.executable, "-m", "training", "sort", mlp_run[0].run_dir, str(src),
                           str(tmp_path / "sorted"), "--yes", "--json"], cwd=str(ROOT), env=env,
                          capture_output=True, text=True, timeout=300, preexec_fn=limit)
    assert done.returncode == 2, done.stderr[-2000:]
    error = json.loads(done.stdout.strip().splitlines()[-1])
    assert error["kind"] == "bad_input"
    assert f"{tmp_path / 'sorted'} refused a file as too large" in error["error"]
    assert "--undo" in error["error"]
    assert not [k for k in tree(tmp_path / "sorted") if os.path.basename(k).startswith(".")]


def test_refused_journals_touch_nothing(tmp_path, predictor):
    src = make_photos(tmp_path / "photos", per_class=1)
    result = apply_sort(plan_sort(predictor, str(src), str(tmp_path / "sorted")))
    journal = Path(result["journal"])
    data = json.loads(journal.read_text(encoding="utf-8"))
    data["moves"][0]["dst"] = str(tmp_path / "elsewhere.png")   # breaks the signature too
    forged = journal.with_name("forged-sort.json")
    forged.write_text(json.dumps(data), encoding="utf-8")
    before = tree(tmp_path / "sorted")
    with pytest.raises(SortError, match="not written by this app"):
        undo_sort(str(forged))
    assert tree(tmp_path / "sorted") == before


def test_folder_names_are_safe():
    assert folder_name("a/b", 0) == "a_b"
    assert folder_name("..", 3) == "class_3"
    assert folder_name("  ", 1) == "class_1"


def test_bad_folders_are_refused(tmp_path, predictor):
    src = make_photos(tmp_path / "photos", per_class=1)
    with pytest.raises(SortError, match="not found"):
        plan_sort(predictor, str(tmp_path / "missing"), str(tmp_path / "out"))
    with pytest.raises(SortError, match="another folder"):
        plan_sort(predictor, str(src), str(src))
    with pytest.raises(SortError, match="inside the destination"):
        plan_sort(predictor, str(src), str(tmp_path))
    (tmp_path / "empty").mkdir()
    with pytest.raises(SortError, match="No image files"):
        plan_sort(predictor, str(tmp_path / "empty"), str(tmp_path / "out"))


def test_undo_removes_the_folders_the_sort_created_above_dest_and_nothing_else(tmp_path, predictor):
    """Issue 23: a DEST whose parents did not exist: the journal names every folder the
    sort made (DEST, its class folders, the parents) with its identity; undo removes each
    only if it is that very folder and empty. Folders that existed, a folder the user put
    a file in, and a folder made again under the same name after the sort stay."""
    from training.data.sort_journal import read_sort_journal

    src = make_photos(tmp_path / "photos", per_class=1)
    (tmp_path / "new1").mkdir()   # exists before the sort: never removed
    dest = tmp_path / "new1" / "a" / "b" / "sorted"
    result = apply_sort(plan_sort(predictor, str(src), str(dest)))
    journal = read_sort_journal(result["journal"])
    real = os.path.realpath(tmp_path)
    assert journal.created_above == [os.path.join(real, "new1", "a", "b"), os.path.join(real, "new1", "a")]
    assert str(dest) in journal.created_dirs and set(journal.dir_ids) >= {
        *journal.created_above, str(dest)}
    undone = undo_sort(result["journal"])
    assert undone["restored"] == 4 and undone["kept"] == []
    assert sorted(os.listdir(tmp_path / "new1")) == []   # a/, b/ and sorted/ gone; new1 stays
    assert len(tree(src)) == 6

    # The user's file in a parent keeps it (and the folders above it); the same names made
    # again after the sort are not the sort's folders.
    result = apply_sort(plan_sort(predictor, str(src), str(dest)))
    (tmp_path / "new1" / "a" / "notes.txt").write_text("mine", encoding="utf-8")
    undo_sort(result["journal"])
    assert sorted(os.listdir(tmp_path / "new1" / "a")) == ["notes.txt"]
    result = apply_sort(plan_sort(predictor, str(src), str(tmp_path / "x" / "sorted")))
    os.rename(tmp_path / "x", tmp_path / "x_moved")
    (tmp_path / "x").mkdir()   # a new, empty folder of that name: not the sort's
    undo_sort(result["journal"])
    assert (tmp_path / "x").is_dir()


def test_a_journal_naming_a_folder_not_above_dest_is_refused(tmp_path, predictor):
    from training.data.provenance import sign

    src = make_photos(tmp_path / "photos", per_class=1)
    result = apply_sort(plan_sort(predictor, str(src), str(tmp_path / "p" / "sorted")))
    data = json.loads(Path(result["journal"]).read_text(encoding="utf-8"))
    assert data["created_above"] == [os.path.join(os.path.realpath(tmp_path), "p")]
    data["created_above"] = [str(tmp_path / "photos")]   # not above DEST (signed as ours)
    forged = Path(result["journal"]).with_name("odd-sort.json")
    forged.write_text(json.dumps(sign({k: v for k, v in data.items() if k != "signature"})),
                      encoding="utf-8")
    with pytest.raises(SortError, match="not above"):
        undo_sort(str(forged))
    assert len(tree(src)) == 6 and len(tree(tmp_path / "p")) == 4


def test_journals_made_in_one_second_are_listed_newest_first(tmp_path):
    """Undo after a failed sort offers the newest journal (``sort_journals()[0]``). Names to
    the second alone sorted one second's journals by the process id's digits (the app's
    own older journal came before the service's new one), and two journals of one process
    in one second had the same name, so the second replaced the first."""
    from training.data.sort_journal import new_sort_journal, sort_journals

    src = tmp_path / "src"
    src.mkdir()
    made = []
    for _ in range(3):
        journal = new_sort_journal(str(src), str(tmp_path / "dest"), [], "copy", [])
        journal.save()
        made.append(journal.path)
    assert len(set(made)) == 3
    assert sort_journals()[:3] == made[::-1]
