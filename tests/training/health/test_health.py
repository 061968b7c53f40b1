"""Data health: planted label errors, exact and near copies across splits, balance, outliers."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.imagegen import class_image, write_image
from tests.training.data.test_overlay import file_hashes
from training.data import open_dataset
from training.data.overlay import load_overlay
from training.health import check_health

CLASSES = ("cat", "dog", "fox")


def make_splits(root: Path, counts=(14, 4, 4), size: int = 16) -> Path:
    rng = np.random.default_rng(5)
    for split, n in zip(("train", "validation", "test"), counts):
        for c, name in enumerate(CLASSES):
            for i in range(n):
                write_image(root / split / name / f"{name}_{split}_{i:02d}.png", class_image(c, size, rng))
    return root


def plant_copies(root: Path) -> dict:
    """Copies of train images into other splits: exact (renamed PNG, BMP), near (JPEG,
    resized), and an exact copy filed under another class (conflicting labels)."""
    src = root / "train" / "cat" / "cat_train_00.png"
    src2 = root / "train" / "dog" / "dog_train_03.png"
    src3 = root / "train" / "fox" / "fox_train_05.png"
    shutil.copyfile(src, root / "test" / "cat" / "renamed.png")
    Image.open(src).save(root / "test" / "cat" / "as_bmp.bmp")
    Image.open(src2).convert("RGB").save(root / "test" / "dog" / "reencoded.jpg", quality=85)
    Image.open(src3).resize((17, 17), Image.BILINEAR).save(root / "validation" / "fox" / "resized.png")
    shutil.copyfile(src2, root / "train" / "fox" / "conflict.png")
    return {"exact": {str(src): {"renamed.png", "as_bmp.bmp"}, str(src2): {"conflict.png"}},
            "near": {str(src2): "reencoded.jpg", str(src3): "resized.png"}}


def _group_names(groups) -> list[set]:
    return [{Path(m["path"]).name for m in g["members"]} for g in groups]


def _check_copies(result):
    exact = _group_names(result["duplicates"]["exact"]["items"])
    assert {"cat_train_00.png", "renamed.png", "as_bmp.bmp"} in exact
    assert {"dog_train_03.png", "conflict.png"} in exact
    assert result["duplicates"]["exact"]["across_classes"] == 1
    near = result["duplicates"]["near"]["items"]
    near_names = _group_names(near)
    for pair in ({"dog_train_03.png", "reencoded.jpg"}, {"fox_train_05.png", "resized.png"}):
        assert any(pair <= g for g in near_names), (pair, near_names)
    assert result["duplicates"]["near"]["groups"] <= 3  # no flood of false matches
    leak = result["leakage"]
    assert leak["test"]["with_train_copy"] == 3 and leak["validation"]["with_train_copy"] == 1


def test_planted_copies_found_without_a_run(tmp_path):
    root = make_splits(tmp_path / "data")
    plant_copies(root)
    before = file_hashes(root)
    result = check_health(str(root), folds=2)
    _check_copies(result)
    assert result["balance"]["train"]["counts"]["fox"] == 15
    assert file_hashes(root) == before


def test_planted_label_errors_rank_first_and_relabel_clears_them(tmp_path):
    root = make_splits(tmp_path / "data", counts=(16, 4, 4))
    index = open_dataset(str(root))
    overlay = load_overlay(index.root)
    planted = [index.paths[i] for i in (2, 20, 40)]  # cat, dog, fox train images
    wrong = {planted[0]: "dog", planted[1]: "fox", planted[2]: "cat"}
    for p, c in wrong.items():
        overlay.relabel(p, c)
    overlay.save()
    result = check_health(str(root), folds=3)
    top = [result["label_issues"]["items"][i]["path"] for i in range(3)]
    assert set(top) == set(planted)
    by_path = {it["path"]: it for it in result["label_issues"]["items"]}
    assert by_path[planted[0]]["given"] == "dog" and by_path[planted[0]]["suggested"] == "cat"
    for p in planted:
        overlay.restore(p)
    overlay.save()
    again = check_health(str(root), folds=3)
    assert not set(planted) & {it["path"] for it in again["label_issues"]["items"][:3]}


def test_outliers_and_imbalance(tmp_path):
    root = make_splits(tmp_path / "data", counts=(12, 2, 2))
    write_image(root / "train" / "cat" / "huge.png", np.zeros((120, 40, 3), np.uint8))
    Image.fromarray(class_image(1, 16)).convert("RGBA").save(root / "train" / "dog" / "alpha.png")
    for i in range(30):
        write_image(root / "train" / "fox" / f"extra_{i}.png", class_image(2, 16))
    result = check_health(str(root), folds=2)
    reasons = {Path(it["path"]).name: " ".join(it["reasons"]) for it in result["outliers"]["items"]}
    assert "size" in reasons["huge.png"] and "aspect" in reasons["huge.png"]
    assert "colour mode RGBA" in reasons["alpha.png"]
    assert any("fox" in w for w in result["balance"]["train"]["warnings"])


def test_health_cli_json(tmp_path, capsys):
    import json

    from training.cli.main import main

    root = make_splits(tmp_path / "data", counts=(8, 2, 2))
    plant_copies(root)
    assert main(["health", str(root), "--folds", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["schema_version"] == 1 and out["duplicates"]["exact"]["groups"] == 2
    assert main(["health", str(root), "--folds", "1"]) == 2


@pytest.fixture(scope="module")
def copies_run(tmp_path_factory):
    from tests.training.trainutil import tiny_spec
    from training.recipe.config import TrainConfig
    from training.fit.train import train

    base = tmp_path_factory.mktemp("health_run")
    root = make_splits(base / "data", counts=(14, 4, 4))
    plant_copies(root)
    summary = train(str(root), tiny_spec("cnn", size=16), TrainConfig(epochs=2, batch_size=8),
                    run_dir=str(base / "run"))
    return root, summary.run_dir


def test_planted_copies_found_with_a_run(copies_run):
    root, run_dir = copies_run
    result = check_health(str(root), run_dir=run_dir, folds=2, retrain=False)  # quick: copies only
    assert "penultimate" in result["duplicates"]["near"]["method"]
    _check_copies(result)
    test = result["leakage"]["test"]
    assert test["accuracy"] is not None and "accuracy_without_copies" in test


def test_default_with_a_run_retrains_k_fold_and_can_be_cancelled(copies_run, tmp_path, monkeypatch):
    """With a run, label errors are ranked on K-fold retraining of its model (each image
    predicted by a model that never saw it); progress per model; a stop request between
    models ends it (Stopped) without leaving fold runs behind."""
    import glob
    import tempfile

    # The fold runs' temporary folder is this test's own: in the shared one, another
    # pytest-xdist worker's data-health check could have a workbench-cv-* folder open.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    from tests.training.trainutil import Recorder
    from training.events import Stopped

    root, run_dir = copies_run
    events = Recorder()
    result = check_health(str(root), run_dir=run_dir, folds=2, repeats=1, events=events)
    li = result["label_issues"]
    assert "K-fold retraining" in li["method"] and "2 folds x 1" in li["method"]
    # One bar over the whole cross-validation (100 units per model, advanced by the fold
    # trainings' batches), never restarted per fold (issue 22 item 10).
    cv = [p for p in events.progress if p[2] == "cross-validation models"]
    assert (100, 200, "cross-validation models") in cv and cv[-1] == (200, 200, "cross-validation models")
    assert [d for d, _t, _w in cv] == sorted(d for d, _t, _w in cv)
    # No status names an internal temporary folder (the fold runs live in one).
    assert not [s for s in events.statuses if "workbench-cv" in str(s) or tempfile.gettempdir() in str(s)]
    for it in li["items"]:
        assert abs(sum(it["probabilities"]) - 1.0) < 1e-3
    assert len(li["ranked_rows"]) == result["num_samples"]

    stopper = Recorder(stop_when=lambda kind, p: kind == "status" and "training model 2" in str(p))
    with pytest.raises(Stopped):
        check_health(str(root), run_dir=run_dir, folds=2, repeats=1, events=stopper)
    assert not glob.glob(os.path.join(tempfile.gettempdir(), "workbench-cv-*", "*"))
