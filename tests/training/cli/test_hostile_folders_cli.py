"""Hostile dataset and run folders through the CLI (issue 25): the Edit menu's file
operations as ``labels --apply-to-folders`` / ``--undo-move``, label fixes made elsewhere,
run folders that reach out, and the multi-worker warning. Refusals exit 2 with kind
``bad_input``; nothing outside the folders changes (a sentinel tree's hash)."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.hostile_folders import foreign_overlay, hostile_journal, sentinel, tree_hash
from tests.imagegen import make_class_folder
from tests.training.data.test_overlay import file_hashes
from tests.training.trainutil import run_cli
from training.runs import runfolder


@pytest.fixture
def world(tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=4, size=8)
    outside = sentinel(tmp_path)
    return data, outside, tree_hash(outside), file_hashes(data)


def test_undo_move_refuses_the_issues_journal(capsys, world):
    """The issue's reproduction from a terminal: exit 2, bad_input, the reason, no move."""
    data, outside, before, images = world
    journal = hostile_journal(data, outside)
    code, out, err = run_cli(capsys, "labels", data, "--undo-move", "--yes", "--json")
    assert code == 2 and out["kind"] == "bad_input", (out, err)
    assert "refused" in out["error"] and "not written by this app" in out["error"]
    code, out, err = run_cli(capsys, "labels", data, "--undo-move", journal, "--yes", "--json")
    assert code == 2 and out["kind"] == "bad_input" and "no valid signature" in out["error"]
    assert "Traceback" not in err
    assert tree_hash(outside) == before and file_hashes(data) == images


def test_apply_to_folders_and_undo_move_round_trip(capsys, world):
    data, outside, before, images = world
    src = data / "cat" / "cat_001.png"
    code, out, _ = run_cli(capsys, "labels", data, "--relabel", src, "fox", "--json")
    assert code == 0
    code, out, _ = run_cli(capsys, "labels", data, "--apply-to-folders", "--json")
    moves = out["folder_moves"]
    assert code == 0 and not moves["done"] and moves["moved"] == 0   # no --yes: listed only
    assert moves["planned"] == [{"src": str(src), "dst": str(data / "fox" / "cat_001.png")}]
    assert file_hashes(data) == images
    code, out, err = run_cli(capsys, "labels", data, "--apply-to-folders", "--yes", "--json")
    assert code == 0 and out["folder_moves"]["moved"] == 1 and "Moved 1 image" in err
    assert not src.exists() and (data / "fox" / "cat_001.png").is_file()
    code, out, _ = run_cli(capsys, "labels", data, "--undo-move", "--yes", "--json")
    assert code == 0 and out["folder_moves"]["moved"] == 1 and out["folder_moves"]["done"]
    assert file_hashes(data) == images and tree_hash(outside) == before
    code, out, _ = run_cli(capsys, "labels", data, "--undo-move", "--yes", "--json")
    assert code == 2 and "No folder move" in out["error"]


def test_label_fixes_made_elsewhere_are_reported_and_need_a_flag(capsys, world):
    data, outside, before, images = world
    foreign_overlay(data, {"cat/cat_000.png": "dog"}, excluded=["dog/dog_000.png"])
    said = "1 label fix and 1 exclusion come with this dataset (made elsewhere)"
    code, out, _ = run_cli(capsys, "inspect", data, "--quick", "--json")
    assert code == 0 and out["num_samples"] == 12 and out["foreign_labels"]["decision"] is None
    code, _, err = run_cli(capsys, "inspect", data, "--quick", "--json")
    assert f"note: {said}: not applied until you accept them. Pass --accept-dataset-labels" in err
    code, out, _ = run_cli(capsys, "labels", data, "--exclude", data / "cat" / "cat_002.png",
                           "--json")
    assert code == 2 and said in out["error"] and "--accept-dataset-labels" in out["error"]
    code, out, _ = run_cli(capsys, "inspect", data, "--quick", "--accept-dataset-labels", "--json")
    assert code == 0 and out["num_samples"] == 11 and out["foreign_labels"]["decision"] == "apply"
    code, out, _ = run_cli(capsys, "inspect", data, "--quick", "--json")   # remembered
    assert out["num_samples"] == 11
    code, out, _ = run_cli(capsys, "inspect", data, "--quick", "--ignore-dataset-labels", "--json")
    assert out["num_samples"] == 12 and out["foreign_labels"]["decision"] == "ignore"
    assert file_hashes(data) == images and tree_hash(outside) == before


def test_train_leaves_fixes_made_elsewhere_out_and_says_so(capsys, tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=6, size=8)
    foreign_overlay(data, {"cat/cat_000.png": "dog"}, excluded=["dog/dog_000.png"])
    run_dir = tmp_path / "run"
    code, out, err = run_cli(capsys, "train", data, "--model", "mlp", "--epochs", "1",
                             "--batch-size", "8", "--out", run_dir, "--json")
    assert code == 0, err[-2000:]
    assert "come with this dataset (made elsewhere): not applied until you accept them" in err
    assert "--accept-dataset-labels" in err and out["foreign_labels"]["decision"] is None
    recorded = runfolder.read_json(run_dir / runfolder.DATASET_JSON)
    assert recorded["num_samples"] == 18 and recorded["overlay"]["foreign"]["relabelled"] == 1
    assert not runfolder.RunFolder(run_dir).label_overlay_json.exists()


def test_multi_worker_says_grpc_has_no_authentication_and_names_public_workers(capsys, monkeypatch,
                                                                               tmp_path):
    monkeypatch.setenv("TF_CONFIG", json.dumps({
        "cluster": {"worker": ["10.0.0.1:12345", "8.8.8.8:12345", "node-b:12345"]},
        "task": {"type": "worker", "index": 0}}))
    code, out, err = run_cli(capsys, "train", tmp_path / "missing", "--strategy", "multi-worker",
                             "--json")
    assert code == 2 and out["kind"] == "bad_input"   # the missing dataset, after the warning
    assert "no authentication" in err and "trusted network only" in err
    assert "8.8.8.8:12345 is neither loopback nor in a private range" in err
    assert "10.0.0.1" not in err.split("neither loopback")[0].split("warning:")[-1]
    assert "node-b:12345 not checked" in err


def test_run_folder_links_out_are_refused_by_predict_evaluate_and_runs(capsys, mlp_run, tmp_path):
    summary, data, _ = mlp_run
    outside = sentinel(tmp_path)
    before = tree_hash(outside)
    runs = tmp_path / "runs"
    run = runs / "shared"
    shutil.copytree(summary.run_dir, run)
    for name in ("model_final.keras", "model_best.keras"):
        os.remove(run / name)
        os.symlink(outside / "secret.keras", run / name)
    image = next(data.rglob("*.png"))
    code, out, err = run_cli(capsys, "predict", run, image, "--json")
    assert code == 2 and out["kind"] == "bad_input" and "outside the run folder" in out["error"]
    code, out, err = run_cli(capsys, "evaluate", run, data, "--json")
    assert code == 2 and "outside the run folder" in out["error"], err[-2000:]
    bad = runs / "bad"
    bad.mkdir()
    (bad / "run.json").write_text(json.dumps({"schema_version": 1, "status": "running",
                                              "model": "x", "started": 0, "epochs_done": 0,
                                              "pid": 10 ** 30}))
    code, out, err = run_cli(capsys, "runs", runs, "--json")
    assert code == 0, err[-2000:]
    by_name = {r["name"]: r for r in out["runs"]}
    assert by_name["bad"]["status"] == "invalid" and "pid must be" in by_name["bad"]["error"]
    assert by_name["shared"]["status"] == "complete"
    assert tree_hash(outside) == before
