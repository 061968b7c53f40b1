"""Runs can be told apart and managed (issue 11.7): the dataset column, a display name and
notes in run.json, deleting a run folder only."""
import json
import shutil

import pytest

from training.runs import runfolder
from training.runs.runfolder import RunFolder
from training.cli.main import main
from training.runs.manage import delete_run, list_runs_labelled, rename_run, set_notes


@pytest.fixture
def run_copy(mlp_run, tmp_path):
    summary, data, _ = mlp_run
    root = tmp_path / "runs"
    shutil.copytree(summary.run_dir, root / "one")
    return root / "one", data


def test_dataset_name_and_count_are_listed(run_copy, capsys):
    run_dir, data = run_copy
    row = list_runs_labelled(run_dir.parent)[0]
    n = json.loads((run_dir / "dataset.json").read_text())["num_samples"]
    assert row["dataset"] == data.name and row["num_images"] == n
    assert row["dataset_label"] == f"{data.name} ({n:,} images)"
    assert main(["runs", str(run_dir.parent)]) == 0
    table = capsys.readouterr().out
    assert "dataset" in table.splitlines()[0] and f"{data.name} ({n:,} images)" in table
    assert main(["runs", str(run_dir.parent), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["runs"][0]
    assert listed["dataset"] == data.name and listed["num_images"] == n


def test_rename_and_notes_are_kept_in_run_json(run_copy):
    run_dir, _ = run_copy
    rename_run(run_dir, "  baseline   cnn ")
    set_notes(run_dir, "lr 1e-3, no augmentation\n")
    info = json.loads((run_dir / "run.json").read_text())
    assert info["display_name"] == "baseline cnn" and info["notes"] == "lr 1e-3, no augmentation"
    assert RunFolder(run_dir).load()["status"] == info["status"]   # still a valid run
    row = list_runs_labelled(run_dir.parent)[0]
    assert row["display_name"] == "baseline cnn" and row["name"] == "one"
    rename_run(run_dir, "")
    assert "display_name" not in json.loads((run_dir / "run.json").read_text())
    with pytest.raises(runfolder.RunError, match="at most"):
        rename_run(run_dir, "x" * 500)


def test_delete_removes_the_run_folder_only(run_copy, tmp_path):
    run_dir, data = run_copy
    before = sorted(p.name for p in data.rglob("*"))
    delete_run(run_dir)
    assert not run_dir.exists() and sorted(p.name for p in data.rglob("*")) == before
    not_a_run = tmp_path / "photos"
    not_a_run.mkdir()
    (not_a_run / "a.png").write_bytes(b"x")
    with pytest.raises(runfolder.RunError):
        delete_run(not_a_run)
    assert (not_a_run / "a.png").exists()


def test_a_run_holding_its_dataset_is_not_deleted(run_copy):
    run_dir, data = run_copy
    inside = run_dir / "data"
    shutil.copytree(data, inside)
    info = json.loads((run_dir / "dataset.json").read_text())
    info["spec"]["path"] = str(inside)
    (run_dir / "dataset.json").write_text(json.dumps(info))
    with pytest.raises(runfolder.RunError, match="holds the dataset"):
        delete_run(run_dir)
    assert inside.is_dir()
