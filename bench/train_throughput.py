"""Training throughput: the workbench core vs the plain Keras script a person would write.

    python bench/train_throughput.py [--models mlp,cnn] [--epochs 3] [--batch-size 64]
                                     [--data DIR] [--limit N] [--variants a,a2,b,c]
                                     [--size 28] [--color grayscale|rgb]

The issue-9 table (docs/BENCHMARKS.md, "Data path") runs it three ways:
``--models mlp --batch-size 32 --epochs 3`` (28x28 grey), ``--size 128 --color rgb --epochs 1
--variants a,c`` and ``--size 224 --color rgb --epochs 1 --variants a,c --limit N``.

Same data (Fashion-MNIST written as PNG class folders: ``train/`` 60,000 images and
``validation/`` the 10,000 test images), same architecture (the workbench template, rebuilt layer by layer with
plain ``keras.Sequential``; parameter counts are printed to prove it), same batch size,
optimizer, learning rate and epochs. Variants, each in a fresh process:

- (a)  ``training.fit.train.train`` from the image folder, decoded-image cache emptied first
       (``WORKBENCH_CACHE_DIR`` points to a temporary folder): a genuine first run.
- (a2) the same again: the decoded-image cache is reused.
- (b)  plain Keras 3: ``keras.utils.image_dataset_from_directory(...).cache().prefetch(AUTOTUNE)``.
- (c)  the same without ``.cache()``.

Every variant reports its process's peak RSS (``ru_maxrss``) and CPU time (user + system,
all threads: steadier than wall time on a shared machine). Wall time covers the whole run after ``import tensorflow`` (listing, decoding, building,
fitting, evaluating; the workbench also writes its run folder and full evaluation).
Validation each epoch and the final accuracy use the 10,000 test images in every variant
(they sit in ``validation/`` so the workbench keeps all 60,000 for training instead of
carving its own validation set out of them; it evaluates on validation when there is no
``test/``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

VARIANTS = {"a": "workbench, first run", "a2": "workbench, second run (cache reused)",
            "b": "plain Keras + cache()", "c": "plain Keras, no cache"}


# --------------------------------------------------------------------------- workers
def _spec(model: str, size: int = 28, color: str = "grayscale"):
    from training.models import template
    return template(model, input_size=(size, size), color_mode=color)


def plain_model(spec, num_classes: int):
    """The spec's architecture as a plain ``keras.Sequential`` (what a user would type)."""
    import keras
    h, w = spec.input_size
    c = 1 if spec.color_mode == "grayscale" else 3
    layers = [keras.Input((h, w, c)), keras.layers.Rescaling(1.0 / 255)]
    for i, layer in enumerate(spec.layers):
        cls = getattr(keras.layers, layer.type, None)
        if cls is None:
            raise ValueError(f"layer {i}: no keras.layers.{layer.type}. Received: {layer}")
        layers.append(cls(**layer.params))
    layers.append(keras.layers.Dense(num_classes, activation="softmax"))
    return keras.Sequential(layers)


def worker_workbench(a) -> dict:
    import tensorflow  # noqa: F401  (imported before the clock starts, as in worker_plain)
    import keras  # noqa: F401
    from training.fit.train import train
    from training.recipe.config import TrainConfig
    from training.data import DatasetSpec
    from training.runs.runfolder import RunFolder

    rec = common.epoch_recorder()
    spec = _spec(a.model, a.size, a.color)
    config = TrainConfig(epochs=a.epochs, batch_size=a.batch_size, early_stopping=False, seed=0)
    run_dir = os.path.join(a.scratch, f"run-{a.model}-{a.variant}")
    prof = [] if a.profile else None
    t0, c0 = time.perf_counter(), common.cpu_seconds()
    with common.profiled(prof, top=25, sort="cumulative"):
        summary = train(DatasetSpec(path=a.data, seed=0), spec, config, rec, run_dir=run_dir)
    wall, cpu = time.perf_counter() - t0, common.cpu_seconds() - c0
    workers_cpu = decoder_workers_cpu()

    acc = getattr(summary, "test_accuracy", None)
    folder = RunFolder(run_dir)
    if acc is None and folder.has_evaluation():
        acc = folder.read_evaluation().get("accuracy")
    secs = [e.get("seconds") for e in rec.epochs]
    params = None
    try:
        params = folder.load_model("final").count_params()
    except Exception:  # noqa: BLE001 (the parameter count is informative only)
        pass
    return {"wall": wall, "cpu": cpu + workers_cpu, "decoder_workers_cpu": workers_cpu,
            "to_first_batch": (rec.first_batch or t0) - t0, "epoch_seconds": secs,
            "test_accuracy": acc, "params": params, "profile": prof[0] if prof else None,
            "peak_rss_mb": common.peak_rss_mb(),
            # run.json's per-phase seconds (decode, train, evaluate, ...) and the CPU cores
            # busy during fit: where a run's time went, without keeping its folder
            "timings": dict(getattr(summary, "timings", None) or {})}


def decoder_workers_cpu(settle: float = 5.0) -> float:
    """CPU seconds of the decoding worker processes (``training.data.reader.DecoderPool``),
    which ``getrusage(RUSAGE_SELF)`` does not count: they are children of multiprocessing's
    fork server, which reaps them, so its own time plus its children's (``/proc`` stat
    fields 14-17) holds all of it once they have exited (waited for up to ``settle`` s)."""
    from multiprocessing import forkserver

    pid = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)
    if not pid:
        return 0.0

    def total():
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return 0.0

    end = time.time() + settle
    while time.time() < end:
        try:
            children = [int(c) for c in open(f"/proc/{pid}/task/{pid}/children", encoding="ascii").read().split()]
        except OSError:
            children = []
        if not children:
            break
        time.sleep(0.1)
    return total()


def worker_plain(a, cache: bool) -> dict:
    import tensorflow as tf
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self.first_batch = [], None

        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            # When the first batch has trained, as the workbench's first on_batch event
            # (which comes after its first execution of up to 32 steps): both include
            # Keras tracing the train function.
            if self.first_batch is None:
                self.first_batch = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._t)

    keras.utils.set_random_seed(0)
    t0, c0 = time.perf_counter(), common.cpu_seconds()
    load = dict(color_mode=a.color, image_size=(a.size, a.size), batch_size=a.batch_size)
    train_ds = keras.utils.image_dataset_from_directory(os.path.join(a.data, "train"), seed=0, **load)
    test_ds = keras.utils.image_dataset_from_directory(os.path.join(a.data, "validation"), shuffle=False, **load)
    num_classes = len(train_ds.class_names)
    if cache:
        train_ds, test_ds = train_ds.cache(), test_ds.cache()
    train_ds = train_ds.prefetch(tf.data.AUTOTUNE)
    test_ds = test_ds.prefetch(tf.data.AUTOTUNE)
    model = plain_model(_spec(a.model, a.size, a.color), num_classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    timer = EpochTimer()
    model.fit(train_ds, validation_data=test_ds, epochs=a.epochs, callbacks=[timer], verbose=0)
    _, acc = model.evaluate(test_ds, verbose=0)
    wall, cpu = time.perf_counter() - t0, common.cpu_seconds() - c0
    return {"wall": wall, "cpu": cpu, "to_first_batch": (timer.first_batch or t0) - t0,
            "epoch_seconds": timer.seconds, "test_accuracy": float(acc), "params": model.count_params(),
            "peak_rss_mb": common.peak_rss_mb()}


# --------------------------------------------------------------------------- driver
def _row(model, v, r, base):
    secs = [s for s in r.get("epoch_seconds") or [] if s is not None]
    later = sum(secs[1:]) / len(secs[1:]) if len(secs) > 1 else None
    ratio = r["wall"] / base["wall"] if base else None
    cpu = r["cpu"] / base["cpu"] if base and base.get("cpu") and r.get("cpu") else None
    rss = r["peak_rss_mb"] / base["peak_rss_mb"] if base and base.get("peak_rss_mb") else None
    return [model, f"({v}) {VARIANTS[v]}", r["wall"], r.get("cpu"), r["to_first_batch"], secs[0] if secs else None,
            later, r.get("peak_rss_mb"), r["test_accuracy"], r["params"],
            f"{ratio:.2f}x" if ratio else "-", f"{cpu:.2f}x" if cpu else "-", f"{rss:.2f}x" if rss else "-"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="mlp,cnn")
    p.add_argument("--variants", default="a,a2,b,c")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--data", default=None, help="PNG folder with train/ and validation/ (written if missing)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    p.add_argument("--size", type=int, default=28, help="square input size (the PNGs are resized to it)")
    p.add_argument("--color", default="grayscale", choices=("grayscale", "rgb"))
    p.add_argument("--json", default=None, help="also write all results to this JSON file")
    p.add_argument("--profile", action="store_true",
                   help="print a cProfile of the workbench runs (adds overhead to their times)")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--model", default=None, help=argparse.SUPPRESS)
    p.add_argument("--variant", default=None, help=argparse.SUPPRESS)
    p.add_argument("--scratch", default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)

    if a.worker:
        out = worker_workbench(a) if a.worker == "workbench" else worker_plain(a, a.worker == "plain-cache")
        print(json.dumps(out))
        return 0

    print(common.machine_line())
    data = a.data or (common.DEFAULT_DATA + (f"-{a.limit}" if a.limit else ""))
    info = common.write_fashion_pngs(data, layout="splits", limit=a.limit, held_out="validation")
    how = "reused" if info["reused"] else f"written in {info['seconds']} s"
    print(f"Data: {data} ({info['train']} train + {info['test']} validation (= Fashion-MNIST test) PNGs, {how})")
    scratch = tempfile.mkdtemp(prefix="workbench-bench-")
    cache = os.path.join(scratch, "cache")
    env = {"WORKBENCH_CACHE_DIR": cache, "WORKBENCH_RUNS_DIR": os.path.join(scratch, "runs")}
    results, rows = {}, []
    variants = [v.strip() for v in a.variants.split(",") if v.strip()]
    try:
        for model in [m.strip() for m in a.models.split(",") if m.strip()]:
            shutil.rmtree(cache, ignore_errors=True)  # (a) must be a genuine first run
            for v in variants:
                worker = {"a": "workbench", "a2": "workbench", "b": "plain-cache", "c": "plain-nocache"}[v]
                args = [os.path.abspath(__file__), "--worker", worker, "--model", model, "--variant", v,
                        "--data", data, "--epochs", str(a.epochs), "--batch-size", str(a.batch_size),
                        "--size", str(a.size), "--color", a.color,
                        "--scratch", scratch] + (["--profile"] if a.profile and worker == "workbench" else [])
                print(f"  running {model} ({v}) {VARIANTS[v]} ...", flush=True)
                try:
                    results[(model, v)] = common.run_json_subprocess(args, env=env)
                except RuntimeError as e:
                    print(f"  FAILED: {e}", flush=True)
            base = results.get((model, "b")) or results.get((model, "c"))
            rows += [_row(model, v, results[(model, v)], base) for v in variants if (model, v) in results]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print()
    base_name = "(b)" if "b" in variants else "(c)"
    print(f"Input {a.size}x{a.size} {a.color}, batch {a.batch_size}, {a.epochs} epoch(s); "
          f"ratios are wall time and peak RSS relative to {base_name} (lower is better)")
    print(common.table(["model", "variant", "whole run s", "CPU s", "to 1st batch s", "epoch 1 s",
                        "later epochs s", "peak RSS MB", "test acc", "params", f"time vs {base_name}",
                        f"CPU vs {base_name}", f"RSS vs {base_name}"], rows))
    summary = []
    for model in a.models.split(","):
        r = {v: results.get((model, v)) for v in VARIANTS}
        base = r["b"] or r["c"]
        if base and r["a"]:
            s = (f"{model}: first run {r['a']['wall'] / base['wall']:.2f}x the time of {base_name}, "
                 f"peak RSS {r['a']['peak_rss_mb']:.0f} MB vs {base['peak_rss_mb']:.0f} MB")
            if r["a2"]:
                s += f", second run {r['a2']['wall'] / base['wall']:.2f}x"
            if r["a"].get("cpu") and base.get("cpu"):
                s += f" (CPU time: first {r['a']['cpu'] / base['cpu']:.2f}x" + (
                    f", second {r['a2']['cpu'] / base['cpu']:.2f}x)" if r["a2"] else ")")
            s += f", acc {r['a']['test_accuracy']:.3f} vs {base['test_accuracy']:.3f}"
            summary.append(s)
    for (model, v), r in results.items():
        if r.get("profile"):
            print(f"\ncProfile of training.fit.train.train, {model} ({v}) {VARIANTS[v]} (cumulative):\n{r['profile']}")
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump({"machine": common.machine(), "results": {f"{m}/{v}": r for (m, v), r in results.items()}},
                      f, indent=1)
    print()
    print(common.load_line())
    print("SUMMARY: " + ("; ".join(summary) if summary else "no complete comparison (see failures above)"))
    return 0 if len(results) == len(variants) * len(a.models.split(",")) else 1


if __name__ == "__main__":
    sys.exit(main())
