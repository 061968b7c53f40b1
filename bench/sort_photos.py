"""Sorting 3,000 photos into class folders: ``python -m training sort`` vs plain Keras.

    python bench/sort_photos.py [--photos 3000] [--repeats 2] [--work DIR] [--prepare-only]

Preparation (reused from ``--work`` when done already; run it outside the bench lock):

- a CNN run (28x28 grayscale, 3 epochs) trained on 3,000 Fashion-MNIST *training* images;
- ``--photos`` Fashion-MNIST *test* images made into 640x480 RGB JPEG photos (the garment
  enlarged on a tinted, noisy background, quality 90: ~60-100 KB, like phone photos
  scaled down), so the model sorts images it never saw.

Measured, each in a fresh child process, alternating, ``--repeats`` times:

- **ours**: ``python -m training sort RUN SRC DEST --yes --json`` (classify batch by
  batch with the run's calibration and unknown rule, journal, copies flushed to disk and
  linked under names that are never overwritten);
- **plain Keras**: ``keras.saving.load_model`` + PIL decode/resize + ``predict_on_batch``
  per 32 photos + ``shutil.copy2`` into ``DEST/<class>/`` (no journal, no fsync, no clash
  check: what a short script does);
- once each: ours with ``--dry-run`` (the classifying alone), and ours on a third of the
  photos, to show that peak memory does not grow with the number of photos.

Wall time, photos/s, peak RSS and CPU seconds of each child (``os.wait4``), the ratio
ours/plain, how many photos got a class (not ``unknown/``) and how many of those went into
their true class's folder.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common
import make_sample

CLASSES = make_sample.CLASS_NAMES   # the class folders' names


def prepare(work: str, photos: int) -> dict:
    marker = os.path.join(work, f"prepared-{photos}.json")
    if os.path.exists(marker):
        with open(marker, encoding="utf-8") as f:
            return json.load(f)
    os.makedirs(work, exist_ok=True)
    xtr, ytr = make_sample.load_fashion_mnist(make_sample.DEFAULT_SRC, "train")
    train_dir = os.path.join(work, "train")
    if os.path.exists(train_dir):
        shutil.rmtree(train_dir)
    make_sample.write_png_folders(xtr[:3000], ytr[:3000], [f"{i:05d}" for i in range(3000)],
                                  train_dir, optimize=False)
    run_dir = os.path.join(work, "run")
    if os.path.exists(run_dir):
        shutil.rmtree(run_dir)
    subprocess.run([sys.executable, "-m", "training", "train", train_dir, "--model", "cnn",
                    "--image-size", "28", "--color", "grayscale", "--epochs", "3",
                    "--out", run_dir], cwd=common.ROOT, check=True, stdout=subprocess.DEVNULL)
    xte, yte = make_sample.load_fashion_mnist(make_sample.DEFAULT_SRC, "t10k")
    src = os.path.join(work, f"photos-{photos}")
    truth = write_photos(xte[:photos], yte[:photos], src)
    info = {"run": run_dir, "src": src, "truth": truth}
    with open(marker, "w", encoding="utf-8") as f:
        json.dump(info, f)
    return info


def write_photos(images, labels, out: str) -> dict:
    """640x480 JPEGs, nested in a few folders like a camera's; {name: true class}."""
    from PIL import Image

    if os.path.exists(out):
        shutil.rmtree(out)
    rng = np.random.default_rng(0)
    truth = {}
    for i, (img, y) in enumerate(zip(images, labels)):
        garment = np.asarray(Image.fromarray(img).resize((448, 448), Image.BICUBIC), np.float32)
        tint = rng.uniform(0, 60, 3)
        canvas = np.empty((480, 640, 3), np.float32)
        canvas[:] = tint
        canvas[16:464, 96:544] = np.maximum(canvas[16:464, 96:544], garment[..., None])
        canvas += rng.normal(0, 6, canvas.shape)
        folder = os.path.join(out, f"DCIM-{i // 500:02d}")
        os.makedirs(folder, exist_ok=True)
        name = f"IMG_{i:05d}.jpg"
        Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8)).save(
            os.path.join(folder, name), quality=90)
        truth[name] = CLASSES[int(y)]
    return truth


def subset(src: str, n: int, out: str) -> str:
    """The first ``n`` photos of ``src`` (hard links), for the memory comparison."""
    if os.path.exists(out):
        shutil.rmtree(out)
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs)[:n]
    for f in files:
        target = os.path.join(out, os.path.relpath(f, src))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.link(f, target)
    return out


def run_child(argv: list[str], env: dict) -> dict:
    """Run ``argv``; wall seconds, peak RSS (MB) and CPU seconds of that child alone, and
    its last stdout line as JSON."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, cwd=common.ROOT, env=env, stdout=out,
                                stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        lines = out.read().decode().strip().splitlines()
    if proc.returncode:
        raise RuntimeError(f"{argv} exited with {proc.returncode}")
    return {"wall": wall, "rss": usage.ru_maxrss / 1024, "cpu": usage.ru_utime + usage.ru_stime,
            "json": json.loads(lines[-1]) if lines else None}


def right(dest: str, truth: dict) -> int:
    return sum(1 for d, _, fs in os.walk(dest) for f in fs
               if truth.get(f) == os.path.basename(d))


def plain_keras(model_path: str, classes_json: str, src: str, dest: str) -> None:
    """The baseline (run as a child of this script): what a short Keras script does."""
    import keras
    from PIL import Image

    model = keras.saving.load_model(model_path)
    with open(classes_json, encoding="utf-8") as f:
        classes = json.load(f)
    classes = classes.get("classes", classes) if isinstance(classes, dict) else classes
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs
                   if f.lower().endswith((".jpg", ".jpeg", ".png")))
    for c in classes:
        os.makedirs(os.path.join(dest, c), exist_ok=True)
    for start in range(0, len(files), 32):
        batch = files[start:start + 32]
        x = np.stack([np.asarray(Image.open(p).convert("L").resize((28, 28), Image.BILINEAR),
                                 np.float32)[..., None] for p in batch])
        for p, k in zip(batch, np.argmax(model.predict_on_batch(x), axis=1)):
            shutil.copy2(p, os.path.join(dest, classes[int(k)], os.path.basename(p)))
    print(json.dumps({"copied": len(files)}))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", type=int, default=3000)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "workbench-bench-sort"))
    p.add_argument("--prepare-only", action="store_true")
    p.add_argument("--plain-keras", nargs=4, metavar=("MODEL", "CLASSES", "SRC", "DEST"),
                   help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.plain_keras:
        plain_keras(*a.plain_keras)
        return 0
    info = prepare(a.work, a.photos)
    if a.prepare_only:
        print(f"prepared in {a.work}")
        return 0
    from training.runs.runfolder import RunFolder

    folder = RunFolder(info["run"])
    model, classes_json = str(folder.model_file("final")), str(folder.classes_json)
    env = {**os.environ, "PYTHONPATH": common.ROOT, "TF_CPP_MIN_LOG_LEVEL": "2",
           "WORKBENCH_DATA_DIR": os.path.join(a.work, "appdata"),
           "WORKBENCH_LOG_DIR": os.path.join(a.work, "logs")}
    dest = os.path.join(a.work, "sorted")
    print(common.machine_line())
    rows, results = [], {"ours": [], "plain": []}

    def once(name, argv, src=info["src"]):
        if os.path.exists(dest):
            shutil.rmtree(dest)
        r = run_child(argv, env)
        r["right"] = right(dest, info["truth"]) if os.path.exists(dest) else 0
        r["n"] = sum(1 for _d, _s, fs in os.walk(src) for _f in fs)
        made = os.path.exists(dest)
        unknown = len(os.listdir(os.path.join(dest, "unknown"))) \
            if os.path.isdir(os.path.join(dest, "unknown")) else 0
        answered = r["n"] - unknown
        rows.append([name, r["wall"], r["n"] / r["wall"], r["rss"], r["cpu"],
                     f"{answered:,}" if made else "-",
                     f"{r['right'] / answered:.1%}" if made and answered else "-"])
        print(f"  {name}: {r['wall']:.1f} s, peak RSS {r['rss']:.0f} MB", flush=True)
        return r

    ours_argv = [sys.executable, "-m", "training", "sort", info["run"], info["src"], dest,
                 "--yes", "--json"]
    for _ in range(a.repeats):
        results["ours"].append(once("ours (sort --yes)", ours_argv))
        results["plain"].append(once("plain Keras + shutil.copy2", [
            sys.executable, os.path.abspath(__file__), "--plain-keras", model, classes_json,
            info["src"], dest]))
    plan = once("ours, classify only (--dry-run)", ours_argv[:-2] + ["--dry-run", "--json"])
    small = subset(info["src"], a.photos // 3, os.path.join(a.work, "third"))
    third = once(f"ours on {a.photos // 3:,} photos", ours_argv[:5] + [small] + ours_argv[6:],
                 src=small)
    counts = results["ours"][-1]["json"]["result"]["counts"]
    print()
    print(common.table(["run", "wall s", "photos/s", "peak RSS MB", "CPU s", "answered",
                        "right of answered"],
                       [[r[0], *[common.fmt(v, 1) for v in r[1:5]], *r[5:]] for r in rows]))
    ours_s = float(np.median([r["wall"] for r in results["ours"]]))
    plain_s = float(np.median([r["wall"] for r in results["plain"]]))
    print()
    print(f"unknown/: {counts.get('unknown', 0)} of {a.photos} photos; plan-only "
          f"{plan['wall']:.1f} s")
    print(common.load_line())
    print(f"SUMMARY: {a.photos:,} photos sorted in {ours_s:.1f} s ({a.photos / ours_s:.0f} "
          f"photos/s; plain Keras {plain_s:.1f} s, ratio ours/plain {ours_s / plain_s:.2f}); "
          f"peak RSS {max(r['rss'] for r in results['ours']):.0f} MB for {a.photos:,} vs "
          f"{third['rss']:.0f} MB for {a.photos // 3:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
