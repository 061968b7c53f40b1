"""``python -m training sort`` and ``sort --undo`` (issue 23 items 4-5): the JSON and
exit-code conventions, asking first, and a real sort process killed with SIGKILL whose
journal then undoes every change byte for byte."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.imagegen import write_image
from tests.training.sorting.sortutil import make_photos, mount, tree, umount
from tests.training.trainutil import ROOT, run_cli


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "appdata"))


def test_sort_json_asks_for_yes_then_sorts_and_undoes(tmp_path, capsys, mlp_run):
    run = mlp_run[0].run_dir
    src = make_photos(tmp_path / "photos")
    before = tree(src)
    dest = tmp_path / "sorted"
    code, plan, err = run_cli(capsys, "sort", run, src, dest, "--json")
    assert code == 0, err
    assert plan["done"] is False and plan["result"] is None and "pass --yes" in err
    assert plan["plan"]["num_photos"] == 13 and sum(plan["plan"]["counts"].values()) == 13
    assert set(plan["plan"]["counts"]) == {"cat", "dog", "fox", "unknown"}
    assert [Path(u["path"]).name for u in plan["plan"]["unreadable"]] == ["broken.jpg"]
    assert not dest.exists()

    code, done, err = run_cli(capsys, "sort", run, src, dest, "--yes", "--json")
    assert code == 0, err
    result = done["result"]
    assert done["done"] is True and result["done"] == 13 and result["operation"] == "copy"
    assert result["counts"] == plan["plan"]["counts"]
    assert "--undo" in err and result["journal"] in err
    assert len(tree(dest)) == 13 and tree(src) == before

    code, undone, err = run_cli(capsys, "sort", "--undo", result["journal"], "--yes", "--json")
    assert code == 0, err
    assert undone["result"]["restored"] == 13 and not dest.exists()
    code, again, err = run_cli(capsys, "sort", "--undo", result["journal"], "--yes", "--json")
    assert code == 2 and again["kind"] == "bad_input" and "undone already" in again["error"]


def test_sort_human_output_and_dry_run(tmp_path, capsys, mlp_run):
    from training.cli.main import main

    src = make_photos(tmp_path / "photos", per_class=1)
    assert main(["sort", mlp_run[0].run_dir, str(src), str(tmp_path / "out"), "--dry-run",
                 "--move"]) == 0
    text = capsys.readouterr().out
    assert "4 photo(s) in" in text and "would be moved" in text and "broken.jpg" in text
    assert "cat " in text and "unknown " in text
    assert not (tmp_path / "out").exists() and len(tree(src)) == 6


@pytest.mark.parametrize("argv, message", [
    (["sort"], "sort needs RUN SRC DEST"),
    (["sort", "{run}", "{tmp}/missing", "{tmp}/out"], "not found"),
    (["sort", "{tmp}/norun", "{tmp}", "{tmp}/out"], "Run folder not found"),
    (["sort", "--undo", "{tmp}/nothing.json"], "missing"),
    (["sort", "{run}", "{tmp}", "{tmp}/out", "--coverage", "2"], "--coverage"),
])
def test_sort_bad_input_is_exit_2_with_the_reason(tmp_path, capsys, mlp_run, argv, message):
    argv = [a.format(run=mlp_run[0].run_dir, tmp=tmp_path) for a in argv]
    code, payload, _ = run_cli(capsys, *argv, "--json")
    assert code == 2 and payload["kind"] == "bad_input" and message in payload["error"]


def _big_photos(root: Path, n: int) -> Path:
    """``n`` noisy 1200x900 JPEGs (~1.5 MB each: copying them takes long enough to be
    killed in the middle)."""
    rng = np.random.default_rng(3)
    for i in range(n):
        write_image(root / f"photo {i:02d} é.jpg", rng.integers(0, 255, (900, 1200, 3), np.uint8))
    return root


def _kill_mid_sort(run, src, dest, *extra) -> None:
    """Start ``python -m training sort … --yes``, SIGKILL it once some photos (not all)
    are in place under ``dest``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    total = len(tree(src))
    proc = subprocess.Popen([sys.executable, "-m", "training", "sort", str(run), str(src),
                             str(dest), "--yes", *extra], cwd=str(ROOT), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 240
        placed = 0
        while time.time() < deadline and proc.poll() is None:
            placed = sum(1 for _d, _s, files in os.walk(dest) for f in files
                         if not f.startswith("."))
            # A move places a photo, then removes its source; with several in flight two
            # can be placed before either source goes (seen on a quiet machine).
            left = "--move" not in extra or len(os.listdir(src)) < total
            if placed >= 2 and left:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-3000:]
        assert 2 <= placed < total, f"{placed} of {total} photos were placed before the kill"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()


def _journal(tmp_path) -> str:
    folder = tmp_path / "appdata" / "sorts"
    journals = sorted(folder.glob("*-sort.json"))
    assert len(journals) == 1, journals
    return str(journals[0])


def test_killed_copy_sort_leaves_its_journal_and_undo_restores_everything(tmp_path, capsys,
                                                                         mlp_run):
    src = _big_photos(tmp_path / "photos", 40)
    dest = tmp_path / "sorted"
    (dest / "unknown").mkdir(parents=True)
    (dest / "unknown" / "photo 00 é.jpg").write_bytes(b"the user's own photo")
    src_before, dest_before = tree(src), tree(dest)
    _kill_mid_sort(mlp_run[0].run_dir, src, dest)
    assert tree(src) == src_before
    final = {k: v for k, v in tree(dest).items() if not os.path.basename(k).startswith(".")}
    assert all(final[k] == v for k, v in dest_before.items())   # never overwritten
    # Every file under its final name is whole: a copy of one of the photos.
    assert set(v for k, v in final.items() if k not in dest_before) <= set(src_before.values())
    code, undone, err = run_cli(capsys, "sort", "--undo", _journal(tmp_path), "--yes", "--json")
    assert code == 0, err
    assert undone["result"]["kept"] == []
    assert tree(dest) == dest_before and tree(src) == src_before
    assert sorted(os.listdir(dest)) == ["unknown"]


def test_killed_move_sort_across_file_systems_is_undone_byte_for_byte(tmp_path, capsys,
                                                                     mlp_run):
    """The photos live on a tmpfs and the destination on the disk: each move is a copy
    then the source's removal, the slow kind a kill can land in the middle of."""
    src = tmp_path / "card"
    mount(["-t", "tmpfs", "-o", "size=200m", "tmpfs"], src)
    try:
        _big_photos(src, 40)
        before = tree(src)
        dest = tmp_path / "sorted"
        _kill_mid_sort(mlp_run[0].run_dir, src, dest, "--move")
        assert len(tree(src)) < len(before)   # some photos did leave the card
        code, undone, err = run_cli(capsys, "sort", "--undo", _journal(tmp_path), "--yes",
                                    "--json")
        assert code == 0, err
        assert undone["result"]["kept"] == []
        assert tree(src) == before
        assert not dest.exists() or tree(dest) == {}
    finally:
        umount(src)


def test_sort_undo_removes_the_folders_it_made_above_dest(tmp_path, capsys, mlp_run):
    """Issue 23: ``sort RUN SRC a/b/DEST`` made a/ and a/b/; ``--undo`` removes them (and
    DEST), leaving the folder that held them and everything else as it was."""
    src = make_photos(tmp_path / "photos", per_class=1)
    (tmp_path / "keep").mkdir()
    before = tree(tmp_path)
    dest = tmp_path / "a" / "b" / "sorted"
    code, done, err = run_cli(capsys, "sort", mlp_run[0].run_dir, src, dest, "--yes", "--json")
    assert code == 0, err
    assert (tmp_path / "a" / "b").is_dir() and len(tree(dest)) == 4
    code, undone, err = run_cli(capsys, "sort", "--undo", done["result"]["journal"], "--yes", "--json")
    assert code == 0, err
    assert undone["result"]["restored"] == 4
    assert not (tmp_path / "a").exists()
    assert sorted(os.listdir(tmp_path)) == ["appdata", "keep", "photos"]
    assert {k: v for k, v in tree(tmp_path).items() if not k.startswith("appdata")} == before
