"""``python -m training labels``: fixes from the terminal, and CLI training uses them."""

from tests.training.trainutil import run_cli
from tests.imagegen import make_class_folder
from tests.training.data.test_overlay import file_hashes
from training.runs import runfolder


def test_labels_then_train_uses_overlay(capsys, tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=10, size=8)
    before = file_hashes(data)
    moved, dropped = data / "cat" / "cat_000.png", data / "dog" / "dog_001.png"
    code, out, _ = run_cli(capsys, "labels", data, "--relabel", moved, "fox", "--exclude", dropped,
                        "--export", tmp_path / "labels.csv", "--json")
    assert code == 0, out
    assert out["relabelled"] == {"cat/cat_000.png": "fox"} and out["num_samples"] == 29
    assert "cat/cat_000.png,fox" in (tmp_path / "labels.csv").read_text()

    code, out, _ = run_cli(capsys, "labels", data, "--relabel", moved, "zebra", "--json")
    assert code == 2 and "zebra" in out["error"]

    run_dir = tmp_path / "run"
    code, out, _ = run_cli(capsys, "train", data, "--model", "mlp", "--epochs", "1", "--batch-size", "8",
                        "--out", run_dir, "--json")
    assert code == 0
    recorded = runfolder.read_json(run_dir / runfolder.DATASET_JSON)
    assert recorded["num_samples"] == 29
    assert recorded["overlay"]["relabelled"] == 1 and recorded["overlay"]["excluded"] == 1
    counts = recorded["counts"]
    assert sum(counts[s]["fox"] for s in counts) == 11
    copy = runfolder.read_json(runfolder.RunFolder(run_dir).label_overlay_json)
    assert copy["labels"] == {"cat/cat_000.png": "fox"} and copy["excluded"] == ["dog/dog_001.png"]

    code, out, _ = run_cli(capsys, "labels", data, "--restore", moved, "--restore", dropped, "--json")
    assert code == 0 and out["num_samples"] == 30 and out["relabelled"] == {}
    assert file_hashes(data) == before
