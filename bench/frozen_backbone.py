"""Frozen-backbone speed-up: head training on cached backbone features vs end to end.

    python bench/frozen_backbone.py [--images 1200] [--epochs 3] [--batch-size 32] [--size 96]

MobileNetV2 at 96x96 RGB input, frozen base, on Fashion-MNIST images upscaled from 28x28.
No download: the backbone starts from random weights, but a random MobileNetV2's features
vanish (~1e-11, so the head could only learn its bias and every prediction would be the
same), so the script first calibrates the BatchNormalization statistics on 256 training
images (one training-mode pass with momentum 0) and saves that as a weights file, which
the spec then loads (the "weights file" path of the core). Speed does not depend on it.
Both runs use ``training.fit.train.train`` with the same data, spec, seed and epochs; only
``TrainConfig.feature_cache`` differs. Each runs in a fresh process.

The saved model of the feature-cache run must be one end-to-end model that gives the same
predictions as the head trained on features: the last epoch's ``val_loss`` and
``val_accuracy`` (computed by the head on cached features during training) are compared
with the same numbers computed from the saved ``.keras`` model on the raw validation
images (``restore_best`` is off so the saved weights are the last epoch's).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common


def _spec(size: int, weights: str):
    from training.models import template
    spec = template("mobilenet_v2", input_size=(size, size), color_mode="rgb")
    spec.backbone.weights = weights
    spec.backbone.trainable = False
    return spec


def calibrated_weights(data: str, size: int, out: str) -> str:
    """Random MobileNetV2 weights with BatchNormalization statistics set from real images."""
    import keras
    from training.data import DatasetSpec, decode_image, open_dataset
    from training.data.index import TRAIN

    spec = _spec(size, "random")
    index = open_dataset(DatasetSpec(path=data, seed=0))
    rows = index.indices(TRAIN)[:256]
    x = np.stack([decode_image(index.paths[r], size=(size, size), color_mode="rgb") for r in rows])
    keras.utils.set_random_seed(0)
    base = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(size, size, 3),
                                          pooling=spec.backbone.pooling, name="mobilenet_v2")
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0  # moving statistics := this batch's statistics
    base(keras.applications.mobilenet_v2.preprocess_input(x.astype("float32")), training=True)
    base.save_weights(out)
    return out


def worker(a) -> dict:
    import tensorflow  # noqa: F401  (imported before the clock starts)
    from training.fit.train import train
    from training.recipe.config import TrainConfig
    from training.data import DatasetSpec

    rec = common.epoch_recorder()
    config = TrainConfig(epochs=a.epochs, batch_size=a.batch_size, early_stopping=False,
                         restore_best=False, seed=0, feature_cache=a.feature_cache == "on")
    t0 = time.perf_counter()
    train(DatasetSpec(path=a.data, seed=0), _spec(a.size, a.weights), config, rec, run_dir=a.run_dir)
    wall = time.perf_counter() - t0
    last = rec.epochs[-1] if rec.epochs else {}
    return {"wall": wall, "to_first_batch": (rec.first_batch or t0) - t0,
            "epoch_seconds": [e.get("seconds") for e in rec.epochs],
            "val_loss": last.get("val_loss"), "val_accuracy": last.get("val_accuracy")}


def saved_model_check(run_dir: str, data: str, size: int) -> dict:
    """Validation loss/accuracy and probabilities of the saved model on the raw images."""
    from training.data import DatasetSpec, decode_image, open_dataset
    from training.data.index import VALIDATION
    from training.inference.predict import compiled_call, to_probabilities
    from training.runs.runfolder import RunFolder

    index = open_dataset(DatasetSpec(path=data, seed=0))
    rows = index.indices(VALIDATION)
    x = np.stack([decode_image(index.paths[r], size=(size, size), color_mode="rgb") for r in rows])
    y = index.labels[rows]
    model = RunFolder(run_dir).load_model("final")
    call = compiled_call(model)
    probs = np.concatenate([to_probabilities(call(x[i:i + 64].astype(np.float32)).numpy())
                            for i in range(0, len(x), 64)])
    p_true = np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0)
    return {"val_loss": float(-np.log(p_true).mean()), "val_accuracy": float((probs.argmax(1) == y).mean()),
            "probs": probs}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=1200, help="training images (validation: 1/6 of it)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--feature-cache", default="on", help=argparse.SUPPRESS)
    p.add_argument("--data", default=None, help=argparse.SUPPRESS)
    p.add_argument("--run-dir", default=None, help=argparse.SUPPRESS)
    p.add_argument("--weights", default=None, help="backbone weights file (default: calibrated random)")
    a = p.parse_args(argv)
    if a.worker:
        print(json.dumps(worker(a)))
        return 0

    print(common.machine_line())
    data = common.DEFAULT_DATA + f"-frozen-{a.images}"
    info = common.write_fashion_pngs(data, layout="splits", limit=a.images, held_out="validation")
    print(f"Data: {info['train']} train + {info['test']} validation Fashion-MNIST PNGs, "
          f"upscaled to {a.size}x{a.size} RGB by the pipeline")
    scratch = tempfile.mkdtemp(prefix="workbench-bench-frozen-")
    env = {"WORKBENCH_CACHE_DIR": os.path.join(scratch, "cache"),
           "WORKBENCH_RUNS_DIR": os.path.join(scratch, "runs")}
    os.environ.update(env)
    if not a.weights:
        a.weights = calibrated_weights(data, a.size, os.path.join(scratch, "mobilenet_v2_calibrated.weights.h5"))
    res, rows = {}, []
    for fc in ("on", "off"):
        run_dir = os.path.join(scratch, f"run-{fc}")
        print(f"  training MobileNetV2 head, feature_cache={fc} ...", flush=True)
        res[fc] = common.run_json_subprocess(
            [os.path.abspath(__file__), "--worker", "--feature-cache", fc, "--data", data,
             "--run-dir", run_dir, "--epochs", str(a.epochs), "--batch-size", str(a.batch_size),
             "--size", str(a.size), "--weights", a.weights], env=env)
        res[fc]["run_dir"] = run_dir
    checks = {fc: saved_model_check(res[fc]["run_dir"], data, a.size) for fc in res}

    def later(r):
        s = [v for v in r["epoch_seconds"] if v is not None]
        return sum(s[1:]) / len(s[1:]) if len(s) > 1 else (s[0] if s else float("nan"))

    ratio = later(res["off"]) / later(res["on"])
    for fc, name in (("on", "cached features (head only)"), ("off", "end to end, frozen base")):
        r = res[fc]
        rows.append([name, r["wall"], r["to_first_batch"], r["epoch_seconds"][0], later(r),
                     r["val_loss"], checks[fc]["val_loss"], r["val_accuracy"], checks[fc]["val_accuracy"]])
    print()
    print(common.table(["variant", "whole run s", "to 1st batch s", "epoch 1 s", "later epochs s",
                        "val_loss (train)", "val_loss (saved model)", "val_acc (train)",
                        "val_acc (saved model)"], rows))
    diff_loss = abs(res["on"]["val_loss"] - checks["on"]["val_loss"])
    diff_acc = abs(res["on"]["val_accuracy"] - checks["on"]["val_accuracy"])
    between = float(np.abs(checks["on"]["probs"] - checks["off"]["probs"]).max())
    agree = float((checks["on"]["probs"].argmax(1) == checks["off"]["probs"].argmax(1)).mean())
    print()
    print(f"Saved feature-cache model vs its head on features: |val_loss diff| = {diff_loss:.2e}, "
          f"|val_acc diff| = {diff_acc:.4f}")
    print(f"Feature-cache run vs end-to-end run (same seed): max |prob diff| = {between:.2e}, "
          f"top-1 agreement {agree:.1%}")
    same = diff_loss < 1e-3 and diff_acc < 1e-6
    print()
    print(common.load_line())
    print(f"SUMMARY: cached-feature head training {ratio:.1f}x faster per epoch than end to end "
          f"(target >=5x: {common.verdict(ratio >= 5)}); saved model reproduces head predictions: "
          f"{'yes' if same else 'NO'} (|val_loss diff| {diff_loss:.1e})")
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
