"""Class weights: config validation, the CLI's syntax, and a real effect on an imbalanced subset."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from training.recipe.config import TrainConfig, parse_class_weight

SMALL = ("8", "9")


def test_config_and_cli_syntax():
    assert parse_class_weight("balanced") == "balanced"
    assert parse_class_weight("cat=1,dog=2.5") == {"cat": 1.0, "dog": 2.5}
    assert parse_class_weight(None) is None and parse_class_weight("none") is None
    with pytest.raises(ValueError, match="Received: 'dog'"):
        parse_class_weight("cat=1,dog")
    with pytest.raises(ValueError, match="class_weight"):
        TrainConfig(class_weight={"cat": -1})
    with pytest.raises(ValueError, match="class_weight"):
        TrainConfig(class_weight="inverse")
    cfg = TrainConfig(class_weight="balanced")
    assert TrainConfig.from_dict(cfg.to_dict()).class_weight == "balanced"
    # A version-1 file (no class_weight) still loads.
    old = {k: v for k, v in cfg.to_dict().items() if k != "class_weight"} | {"schema_version": 1}
    assert TrainConfig.from_dict(old).class_weight is None
    w = cfg.class_weight_for(["a", "b"], np.array([0, 0, 0, 1]))
    assert w == {0: pytest.approx(4 / 6), 1: pytest.approx(2.0)}
    with pytest.raises(ValueError, match="does not have: fox"):
        TrainConfig(class_weight={"fox": 2}).class_weight_for(["a", "b"], [0, 1])


def _imbalanced_digits(root):
    """Digits in train/validation/test folders: 8 and 9 rare in training, test balanced."""
    from sklearn.datasets import load_digits

    d = load_digits()
    rng = np.random.default_rng(0)
    counts = {"train": 60, "validation": 10, "test": 25}
    for label in range(10):
        idx = rng.permutation(np.flatnonzero(d.target == label))
        n_train = 5 if str(label) in SMALL else counts["train"]
        parts = {"train": idx[:n_train], "validation": idx[n_train:n_train + 10],
                 "test": idx[n_train + 10:n_train + 10 + counts["test"]]}
        for split, rows in parts.items():
            folder = root / split / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            for i in rows:
                img = (d.images[i] / 16 * 255).astype(np.uint8)
                Image.fromarray(img).resize((16, 16), Image.BILINEAR).save(folder / f"{i}.png")
    return root


def test_balanced_weights_raise_recall_of_small_classes(tmp_path):
    from tests.training.trainutil import tiny_spec
    from training.data import DatasetSpec
    from training.fit.train import train

    data = _imbalanced_digits(tmp_path / "digits")

    def small_recall(class_weight, name):
        summary = train(DatasetSpec(str(data)), tiny_spec("mlp", color="grayscale"),
                        TrainConfig(epochs=3, batch_size=16, class_weight=class_weight,
                                    early_stopping=False),
                        run_dir=str(tmp_path / name))
        evaluation = json.loads((tmp_path / name / "evaluation.json").read_text())
        assert evaluation["split"] == "test"
        per_class = {r["class"]: r["recall"] for r in evaluation["per_class"]}
        assert evaluation["balanced_accuracy"] == pytest.approx(np.mean(list(per_class.values())))
        return float(np.mean([per_class[c] for c in SMALL])), summary

    plain, _ = small_recall(None, "plain")
    weighted, _ = small_recall("balanced", "weighted")
    assert weighted >= plain + 0.15, (plain, weighted)
