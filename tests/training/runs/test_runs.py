"""Run folders: listing, interrupted detection, validation of damaged or future files.

These tests write run.json files by hand (no TensorFlow), so they are fast; the train
tests check the folders ``train()`` writes.
"""
import json
import os
import subprocess
import sys
import time

import pytest

from training.runs import runfolder

from training.runs import listing as runs
from training.runs.runfolder import RunFolder


def write_run(root, name, **fields):
    d = root / name
    d.mkdir(parents=True)
    info = {"schema_version": 1, "status": "complete", "model": "cnn", "pid": os.getpid(),
            "started": time.time(), "finished": time.time() + 5, "epochs_done": 2,
            "best_val_accuracy": 0.9, "test_accuracy": 0.85, "timings": {"total": 5.0}}
    info.update(fields)
    (d / "run.json").write_text(json.dumps(info), encoding="utf-8")
    (d / "classes.json").write_text(json.dumps(["a", "b"]), encoding="utf-8")
    return d


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_default_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(tmp_path / "r"))
    assert runfolder.default_runs_root() == tmp_path / "r"
    monkeypatch.delenv("WORKBENCH_RUNS_DIR")
    assert runfolder.default_runs_root().parts[-2:] == ("ImageWorkbench", "runs")


def test_list_runs_sorted_by_start_with_interrupted_and_invalid(tmp_path):
    write_run(tmp_path, "b_later", started=2000.0, test_accuracy=0.7)
    write_run(tmp_path, "a_earlier", started=1000.0)
    write_run(tmp_path, "killed", started=1500.0, status="running", pid=dead_pid(), finished=None,
              timings={})
    write_run(tmp_path, "live", started=1600.0, status="running", pid=os.getpid(), finished=None)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "run.json").write_text('{"schema_version": 1, "status": "compl', encoding="utf-8")
    (tmp_path / "not_a_run").mkdir()

    rows = runs.list_runs(tmp_path)
    by_name = {r["name"]: r for r in rows}
    assert [r["name"] for r in rows] == ["broken", "a_earlier", "killed", "live", "b_later"]
    assert by_name["killed"]["status"] == "interrupted"
    assert by_name["live"]["status"] == "running"
    assert by_name["broken"]["status"] == "invalid" and "not valid JSON" in by_name["broken"]["error"]
    assert by_name["a_earlier"]["duration"] == 5.0 and by_name["a_earlier"]["test_accuracy"] == 0.85
    table = runs.compare_table(rows)
    assert table[0].split()[:4] == ["run", "model", "dataset", "status"]
    assert table[1].startswith("a_earlier")  # best test accuracy first


@pytest.mark.parametrize("content, words", [
    ("", "not valid JSON"),
    ('{"schema_version": 1, "status": ', "truncated"),
    ("[1, 2]", "JSON object"),
    ('{"status": "complete"}', "schema_version"),
    ('{"schema_version": 7, "status": "complete"}', "newer version"),
    ('{"schema_version": 1, "status": "done", "model": "x", "started": 1, "epochs_done": 0}',
     "status='done'"),
    ('{"schema_version": 1, "status": "complete", "model": 3, "started": 1, "epochs_done": 0}',
     "model=3"),
    ('{"schema_version": 1, "status": "complete", "model": "x", "started": 1, "epochs_done": 0, '
     '"test_accuracy": "high"}', "test_accuracy='high'"),
])
def test_load_run_rejects_damaged_files_clearly(tmp_path, content, words):
    (tmp_path / "run.json").write_text(content, encoding="utf-8")
    with pytest.raises(runfolder.RunError) as info:
        RunFolder(tmp_path).load()
    assert words in str(info.value)
    assert "run.json" in str(info.value)


def test_load_run_missing_folder_and_file(tmp_path):
    with pytest.raises(runfolder.RunError, match="does not exist"):
        RunFolder(tmp_path / "nope").load()
    with pytest.raises(runfolder.RunError, match="missing"):
        RunFolder(tmp_path).load()


def test_new_run_dir_never_reuses_a_folder(tmp_path):
    a = runfolder.new_run_dir("cnn / test", tmp_path)
    b = runfolder.new_run_dir("cnn / test", tmp_path)
    assert a != b and a.is_dir() and b.is_dir() and "/" not in a.name.replace(str(tmp_path), "")
