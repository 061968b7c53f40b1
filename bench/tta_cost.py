"""Prediction-time cost of flip test-time augmentation (``training.models.tta``).

For Auto's models (the CNN it picks for 32x32 colour and for 28x28 grayscale images, and
its MobileNetV2 at 96x96 for few colour photos, with random weights: the time does not
depend on them), the model with TTA and the same network without it are called the way
the app calls them (``training.features.modelcall.compiled_call``, inference mode):

- **batch**: images per second over 2,048 images in batches of 64 (the post-fit pass and
  ``predict`` on paths), best of 3 repeats;
- **one image**: the median of 50 single-image calls (the compute service's predict).

    flock /work/locks/bench.lock nice -n 0 python bench/tta_cost.py

Run it alone: the seconds are only meaningful on an otherwise idle CPU (the load average
is printed with the table).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import load_line, machine_line, table

BATCH, IMAGES, REPEATS, SINGLE = 64, 2048, 3, 50


def models(name: str):
    """``(spec with TTA, spec without)`` for one of ``cnn32rgb``, ``cnn28gray``, ``mobilenet``."""
    import copy

    from training.models import AugmentationSpec, template
    from training.recipe.auto import DataFacts, choose

    if name == "mobilenet":
        spec = template("mobilenet_v2", input_size=(96, 96), color_mode="rgb", weights="random")
    else:
        gray = name == "cnn28gray"
        side = 28 if gray else 32
        spec = choose(DataFacts(side, side, gray, 1_000, 10), (side, side), False).spec
    spec.augmentation = AugmentationSpec(flip="horizontal", translation=0.1)
    plain = copy.deepcopy(spec)
    plain.augmentation.test_time_flip = False
    return spec, plain


def time_model(spec, classes: int = 10) -> dict:
    from training.features.modelcall import compiled_call
    from training.models import build_model

    model = build_model(spec, classes)
    call = compiled_call(model)
    h, w = spec.input_size
    x = np.random.default_rng(0).integers(0, 256, (IMAGES, h, w, spec.channels)).astype(np.float32)
    call(x[:BATCH])
    call(x[:1])  # trace both shapes' paths before timing
    best = float("inf")
    for _ in range(REPEATS):
        t = time.perf_counter()
        for start in range(0, IMAGES, BATCH):
            call(x[start:start + BATCH]).numpy()
        best = min(best, time.perf_counter() - t)
    single = []
    for i in range(SINGLE):
        t = time.perf_counter()
        call(x[i:i + 1]).numpy()
        single.append(time.perf_counter() - t)
    return {"per_second": IMAGES / best, "single_ms": 1000 * statistics.median(single)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="*", default=["cnn32rgb", "cnn28gray", "mobilenet"])
    args = p.parse_args(argv)
    print(machine_line(), flush=True)
    rows = []
    for name in args.models:
        tta_spec, plain_spec = models(name)
        plain, tta = time_model(plain_spec), time_model(tta_spec)
        rows.append([name, f"{plain['per_second']:.0f}", f"{tta['per_second']:.0f}",
                     f"{plain['per_second'] / tta['per_second']:.2f}x",
                     f"{plain['single_ms']:.2f}", f"{tta['single_ms']:.2f}",
                     f"{tta['single_ms'] / plain['single_ms']:.2f}x"])
        print(name, plain, tta, flush=True)
    print(table(["model", "images/s plain", "images/s TTA", "batch time ratio",
                 "one image ms plain", "one image ms TTA", "ratio"], rows))
    print(load_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
