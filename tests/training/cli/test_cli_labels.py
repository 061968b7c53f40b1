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

    # A new class name creates the class (issue 23); a name that cannot be one is refused.
    code, out, _ = run_cli(capsys, "labels", data, "--relabel", moved, "zebra/2", "--json")
    assert code == 2 and "zebra/2" in out["error"] and "slashes" in out["error"]

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


def test_labels_cli_labels_loose_images_and_edits_classes(capsys, tmp_path):
    """issue 23: --relabel labels an unlabelled image (a new class name creates the
    class), --add-class/--rename-class/--delete-class, inspect's counts, and train's
    refusal of a class with too few images, with the reason."""
    from tests.imagegen import class_image, write_image

    data = tmp_path / "photos"
    for i in range(6):
        write_image(data / f"p{i}.png", class_image(i % 2, 8))
    before = file_hashes(data)
    code, out, _ = run_cli(capsys, "inspect", data, "--quick", "--json")
    assert code == 0 and out["labelled"] == 0 and out["unlabelled"] == 6 and out["classes"] == []
    code, out, _ = run_cli(capsys, "labels", data, "--relabel", data / "p0.png", "even",
                           "--add-class", "odd", "--json")
    assert code == 0, out
    assert out["classes"] == ["odd", "even"] and out["created_classes"] == ["odd", "even"]
    assert out["labelled"] == 1 and out["unlabelled"] == 5
    code, out, _ = run_cli(capsys, "train", data, "--model", "mlp", "--epochs", "1", "--json")
    assert code == 2 and "'even' has 1" in out["error"] and "'odd' has 0" in out["error"]
    code, out, _ = run_cli(capsys, "labels", data, "--relabel", data / "p2.png", "even",
                           "--relabel", data / "p1.png", "odd", "--relabel", data / "p3.png", "odd",
                           "--rename-class", "even", "round", "--json")
    assert code == 0 and out["classes"] == ["odd", "round"]
    assert out["relabelled"] == {"p0.png": "round", "p1.png": "odd", "p2.png": "round", "p3.png": "odd"}
    code, out, text = run_cli(capsys, "inspect", data, "--quick", "--json")
    assert out["labelled"] == 4 and out["unlabelled"] == 2
    assert {c: sum(out["counts"][s][c] for s in out["counts"]) for c in out["classes"]} == {
        "odd": 2, "round": 2}
    # train uses the labelled images only and says how many of each class it has.
    code, out, err = run_cli(capsys, "train", data, "--model", "mlp", "--epochs", "1",
                             "--batch-size", "2", "--out", tmp_path / "run", "--json")
    assert code == 0, err[-2000:]
    assert "Training on 4 labelled images: odd 2, round 2 (2 unlabelled left out)" in err
    recorded = runfolder.read_json(tmp_path / "run" / runfolder.DATASET_JSON)
    assert recorded["num_samples"] == 4 and recorded["classes"] == ["odd", "round"]
    code, out, _ = run_cli(capsys, "labels", data, "--delete-class", "odd", "--json")
    assert code == 0 and out["classes"] == ["round"] and out["unlabelled"] == 4
    code, out, _ = run_cli(capsys, "labels", data, "--rename-class", "nope", "x", "--json")
    assert code == 2 and "No class named 'nope'" in out["error"]
    assert file_hashes(data) == before
