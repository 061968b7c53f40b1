"""Issue 5's hostile corpus through the CLI: ``inspect``, ``train``, ``evaluate`` and
``predict`` (``--json``) each finish with exit code 0, report every bad item exactly once
with its file and a reason, use every good image, and modify nothing on disk.

The folder corpus without the 9000x9000 JPEG serves the train/evaluate/predict chain (one
tiny MLP epoch); ``inspect`` also runs on a corpus that includes it.
"""
import collections
import json
import os

import pytest

from tests.training.trainutil import run_cli
from tests.hostile import make_hostile_corpus
from tests.imagegen import snapshot_tree


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_hostile_corpus(tmp_path_factory.mktemp("hostile_cli"), huge=False)


def check_bad_files(reported, expected):
    """Each expected item reported exactly once, with its word in the reason; no others."""
    counts = collections.Counter(b["path"] for b in reported)
    assert {p: n for p, n in counts.items() if n > 1} == {}, "reported more than once"
    reasons = {b["path"]: b["reason"] for b in reported}
    assert set(reasons) == set(expected), (sorted(set(reasons) ^ set(expected)))
    for path, word in expected.items():
        assert word.lower() in reasons[path].lower(), (path, reasons[path])


def total(counts) -> int:
    return sum(n for split in counts.values() for n in split.values())


def used_images(run_dir) -> int:
    """Train + validation images of a run plus the test images its evaluation saw."""
    with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as f:
        info = json.load(f)
    with open(os.path.join(run_dir, "evaluation.json"), encoding="utf-8") as f:
        tested = json.load(f)["num_samples"]
    return info["num_train"] + info["num_val"] + tested


def test_inspect_reports_everything_once_including_the_huge_image(capsys, tmp_path):
    big = make_hostile_corpus(tmp_path / "big", huge=True, symlinks=True)
    before = snapshot_tree(big["root"])
    code, out, err = run_cli(capsys, "inspect", big["folder"], "--json")
    assert code == 0, err[-2000:]
    check_bad_files(out["bad_files"], big["bad"])
    assert out["classes"] == big["classes"]
    assert total(out["counts"]) == len(big["good"])  # the 9000x9000 JPEG is a good image
    assert snapshot_tree(big["root"]) == before


def test_train_evaluate_predict_on_the_hostile_folder(capsys, corpus, tmp_path):
    before = snapshot_tree(corpus["root"])
    run_dir = tmp_path / "run"
    code, out, err = run_cli(capsys, "train", corpus["folder"], "--model", "mlp", "--epochs", "1",
                             "--image-size", "16", "--batch-size", "8", "--out", run_dir, "--json")
    assert code == 0, err[-2000:]
    assert out["status"] == "complete" and out["classes"] == corpus["classes"]
    check_bad_files(out["bad_files"], corpus["bad"])
    assert used_images(run_dir) == len(corpus["good"])

    code, ev, err = run_cli(capsys, "evaluate", run_dir, "--json")
    assert code == 0, err[-2000:]
    check_bad_files(ev["bad_files"], corpus["bad"])
    assert ev["test_accuracy"] is not None and ev["num_samples"] >= 1

    # A folder: every image file in it is classified; the undecodable ones get an error
    # naming the reason. Hidden files and non-image extensions are not candidates there.
    code, pred, err = run_cli(capsys, "predict", run_dir, corpus["folder"], "--top-k", "2", "--json")
    assert code == 0, err[-2000:]
    pred = pred["predictions"]
    by_path = {r["path"]: r for r in pred}
    assert len(by_path) == len(pred)
    assert sorted(p for p, r in by_path.items() if not r["error"]) == corpus["good"]
    check_bad_files([{"path": p, "reason": r["error"]} for p, r in by_path.items() if r["error"]],
                    corpus["bad_decode"])
    assert all(len(r["top_k"]) == 2 for r in pred if not r["error"])
    # Named explicitly, the non-images found at indexing are tried and refused too.
    named = [p for p in corpus["bad_index"] if os.path.isfile(p)]
    code, pred, err = run_cli(capsys, "predict", run_dir, corpus["good"][0], *named, "--json")
    assert code == 0, err[-2000:]
    pred = pred["predictions"]
    assert [r["path"] for r in pred] == [corpus["good"][0], *named]
    assert not pred[0]["error"] and all(r["error"] for r in pred[1:])
    assert snapshot_tree(corpus["root"]) == before


def test_csv_and_idx_corpora_inspect_and_train(capsys, corpus, tmp_path):
    before = snapshot_tree(corpus["root"])
    code, out, err = run_cli(capsys, "inspect", corpus["csv"], "--json")
    assert code == 0, err[-2000:]
    check_bad_files(out["bad_files"], corpus["csv_bad"])
    assert total(out["counts"]) == len(corpus["csv_good"])
    run_dir = tmp_path / "csv_run"
    code, out, err = run_cli(capsys, "train", corpus["csv"], "--model", "mlp", "--epochs", "1",
                             "--image-size", "16", "--out", run_dir, "--json")
    assert code == 0, err[-2000:]
    check_bad_files(out["bad_files"], corpus["csv_bad"])
    assert used_images(run_dir) == len(corpus["csv_good"])

    code, out, err = run_cli(capsys, "inspect", corpus["idx"], "--json")
    assert code == 0, err[-2000:]
    check_bad_files(out["bad_files"], corpus["idx_bad"])
    assert total(out["counts"]) == corpus["idx_count"]
    run_dir = tmp_path / "idx_run"
    code, out, err = run_cli(capsys, "train", corpus["idx"], "--model", "mlp", "--epochs", "1",
                             "--out", run_dir, "--json")
    assert code == 0, err[-2000:]
    check_bad_files(out["bad_files"], corpus["idx_bad"])
    assert used_images(run_dir) == corpus["idx_count"]
    assert snapshot_tree(corpus["root"]) == before
