"""Prediction latency and throughput with a saved run vs plain ``model.predict``.

    python bench/predict_latency.py [--repeats 50] [--folder-images 1000]
                                    [--cnn-run DIR] [--mobilenet-run DIR]

Trains (1 epoch, on the bundled sample) and saves a CNN run (28x28 grayscale) and a
MobileNetV2 run (96x96 RGB, random weights), unless existing run folders are given.
Then, after the model is loaded:

- single image: ``Predictor.predict_array`` (a traced direct model call) vs
  ``model.predict(x[None])`` on the same loaded model, p50/p90 over ``--repeats`` calls
  after 5 warm-up calls;
- a folder of 1,000 PNGs: ``Predictor.predict_paths`` vs the plain Keras way
  (``image_dataset_from_directory(labels=None)`` + ``model.predict``), images per second.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common


def train_run(model: str, out: str) -> str:
    from training.data import DatasetSpec
    from training.models import template
    from training.fit.train import train
    try:
        from training.fit.train import TrainConfig
    except ImportError:
        from training.recipe.config import TrainConfig

    if model == "cnn":
        spec = template("cnn", input_size=(28, 28), color_mode="grayscale")
    else:
        spec = template("mobilenet_v2", input_size=(96, 96), color_mode="rgb")
        spec.backbone.weights = "random"
    train(DatasetSpec(path=common.SAMPLE_DIR, seed=0), spec,
          TrainConfig(epochs=1, batch_size=32, early_stopping=False, seed=0), None, run_dir=out)
    return out


def time_calls(fn, repeats: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def make_folder(n: int, out: str) -> str:
    """``n`` PNGs from the sample, spread over the classes, in one flat folder."""
    os.makedirs(out, exist_ok=True)
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(common.SAMPLE_DIR)
                   for f in fs if f.endswith(".png"))
    rng = np.random.default_rng(0)
    for i, src in enumerate(rng.choice(files, size=n, replace=n > len(files))):
        shutil.copyfile(src, os.path.join(out, f"img{i:05d}.png"))
    return out


def measure(name: str, run_dir: str, folder: str, repeats: int) -> list:
    import keras
    from training.data import decode_image
    from training.inference.predict import Predictor

    t = time.perf_counter()
    pred = Predictor(run_dir)
    load_s = time.perf_counter() - t
    h, w = pred.input_size
    sample = next(os.path.join(d, f) for d, _, fs in sorted(os.walk(common.SAMPLE_DIR))
                  for f in sorted(fs) if f.endswith(".png"))
    raw = decode_image(sample)  # the photo as the user gives it (28x28 here)
    ready = decode_image(sample, size=(h, w), color_mode=pred.color_mode).astype(np.float32)[None]
    ours = time_calls(lambda: pred.predict_array(raw), repeats)
    plain = time_calls(lambda: pred.model.predict(ready, verbose=0), repeats)
    # Check both paths agree, so the speed is not bought with a different answer.
    diff = float(np.abs(pred.predict_array(raw) - pred.model.predict(ready, verbose=0)[0]).max())

    t = time.perf_counter()
    results = pred.predict_paths([folder])
    ours_s = time.perf_counter() - t
    n = sum(1 for r in results if r["error"] is None)
    t = time.perf_counter()
    ds = keras.utils.image_dataset_from_directory(
        folder, labels=None, color_mode=pred.color_mode, image_size=(h, w), batch_size=32, shuffle=False)
    plain_probs = pred.model.predict(ds, verbose=0)
    plain_s = time.perf_counter() - t
    assert len(plain_probs) == n, (len(plain_probs), n)
    (o50, o90), (p50, p90) = common.percentiles(ours, (50, 90)), common.percentiles(plain, (50, 90))
    return [name, load_s, o50, o90, p50, p90, p50 / o50, diff, n / ours_s, len(plain_probs) / plain_s]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--folder-images", type=int, default=1000)
    p.add_argument("--cnn-run", default=None)
    p.add_argument("--mobilenet-run", default=None)
    a = p.parse_args(argv)
    print(common.machine_line())
    scratch = tempfile.mkdtemp(prefix="workbench-bench-predict-")
    os.environ.setdefault("WORKBENCH_CACHE_DIR", os.path.join(scratch, "cache"))
    os.environ.setdefault("WORKBENCH_RUNS_DIR", os.path.join(scratch, "runs"))
    try:
        runs = {}
        for name, given in (("cnn", a.cnn_run), ("mobilenet_v2", a.mobilenet_run)):
            if given:
                runs[name] = given
            else:
                print(f"  training {name} for 1 epoch on the sample ...", flush=True)
                runs[name] = train_run(name, os.path.join(scratch, f"run-{name}"))
        folder = make_folder(a.folder_images, os.path.join(scratch, "photos"))
        rows = [measure(name, run, folder, a.repeats) for name, run in runs.items()]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print()
    print(common.table(["run", "load s", "predict_array p50 ms", "p90 ms", "model.predict p50 ms",
                        "p90 ms", "speed-up", "max |prob diff|", "predict_paths img/s",
                        "plain Keras folder img/s"], rows))
    print()
    print(common.load_line())
    print("SUMMARY: " + "; ".join(
        f"{r[0]}: one image {r[2]:.1f} ms p50 ({r[6]:.1f}x faster than model.predict), "
        f"{r[8]:.0f} img/s on a {a.folder_images}-image folder (plain Keras {r[9]:.0f} img/s)" for r in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
