"""Default accuracy: the app with no flags vs classic baselines on the same split.

For each dataset the app's default is what ``python -m training train DATA`` does: the
Auto model choice, its epochs (from the dataset's size, ``training.recipe.epoch_budget``) and
the other ``TrainConfig()`` defaults. The baselines are scikit-learn SVMs
(RBF kernel) on raw pixels and on HOG features (scikit-image), trained on the same
training + validation images and scored on the same test images, decoded by the app's
own loader (so every model sees identical pixels).

Datasets: ``digits`` (scikit-learn's bundled 8x8 digits, written out as one PNG folder
per class), ``fashion`` (Fashion-MNIST IDX files from ``apt-get install
dataset-fashion-mnist``), ``sample`` (resources/sample), or a path.

    python bench/default_accuracy.py digits sample
    nice -n 5 python bench/default_accuracy.py fashion --svm-max-train 10000

Prints a Markdown table for docs/BENCHMARKS.md ("Default accuracy").
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SAMPLE_DIR, fmt, load_line, machine_line, peak_rss_mb, table

FASHION = "/usr/share/datasets/fashion-mnist"
DIGITS_DIR = os.path.join(tempfile.gettempdir(), "workbench-bench-digits")


def write_digits(out: str = DIGITS_DIR) -> str:
    """scikit-learn's 1,797 8x8 digits as ``out/<digit>/<n>.png`` (0..16 scaled to 0..255)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    if os.path.isdir(out) and sum(len(f) for _, _, f in os.walk(out)) == 1797:
        return out
    digits = load_digits()
    for i, (img, label) in enumerate(zip(digits.images, digits.target)):
        folder = os.path.join(out, str(label))
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(np.round(img * 255 / 16).astype(np.uint8), "L").save(
            os.path.join(folder, f"{i:04d}.png"))
    return out


def resolve(name: str) -> tuple[str, str]:
    if name == "digits":
        return "sklearn digits 8x8", write_digits()
    if name == "fashion":
        if not os.path.isdir(FASHION):
            sys.exit(f"{FASHION} is missing: apt-get install -y dataset-fashion-mnist")
        return "Fashion-MNIST", FASHION
    if name == "sample":
        return "resources/sample (1,500 Fashion-MNIST)", SAMPLE_DIR
    return os.path.basename(os.path.normpath(name)), name


def epoch_seconds(run_dir: str) -> float:
    """The median epoch's wall-clock seconds in a run's history."""
    from training.runs.runfolder import RunFolder

    times = sorted(h["seconds"] for h in RunFolder(run_dir).history() if h.get("seconds"))
    return times[len(times) // 2] if times else float("nan")


def app_default(path: str, reuse: str | None = None, epochs: int | None = None) -> dict:
    """What ``python -m training train PATH`` does with no flags (or, with ``reuse``, the
    result of such a run already made, e.g. the long Fashion-MNIST one)."""
    from training.recipe.auto import auto_choice
    from training.recipe.config import TrainConfig
    from training.data import DatasetSpec, open_dataset
    from training.fit.train import train

    spec_data = DatasetSpec(path=path)
    index = open_dataset(spec_data)
    index.spec = spec_data
    choice = auto_choice(index)
    if reuse:
        from training.runs.runfolder import RunFolder

        folder = RunFolder(reuse)
        info = folder.load()
        seconds = (info.get("timings") or {}).get("total")
        if seconds is None:  # a run evaluated separately: its epochs' time
            seconds = sum(h["seconds"] for h in folder.history())
        return {"accuracy": info["test_accuracy"], "seconds": seconds,
                "epoch_seconds": epoch_seconds(reuse),
                "epochs": info["epochs_done"], "template": choice.template,
                "size": choice.spec.input_size, "color": choice.spec.color_mode,
                "index": index, "reasons": choice.reasons}
    t = time.perf_counter()
    run_dir = tempfile.mkdtemp(prefix="bench-default-")
    os.rmdir(run_dir)
    # The CLI's no-flag config: TrainConfig() with the epochs from the dataset's size.
    # (--epochs: a quick sanity run, not a published number.)
    summary = train(index, choice.spec, TrainConfig(epochs=epochs or choice.epochs), run_dir=run_dir)
    return {"accuracy": summary.test_accuracy, "seconds": time.perf_counter() - t,
            "epoch_seconds": epoch_seconds(run_dir),
            "epochs": summary.epochs_done, "template": choice.template,
            "size": choice.spec.input_size, "color": choice.spec.color_mode, "index": index,
            "reasons": choice.reasons}


def baselines(index, size, color, max_train: int | None, seed: int = 0) -> dict:
    """RBF SVMs on pixels and on HOG features; train = train + validation split."""
    from skimage.feature import hog
    from sklearn.svm import SVC

    from training.data import open_images
    from training.data.index import TEST, TRAIN, VALIDATION

    # The SVMs need every image they fit on in memory anyway: read them once from the store.
    with open_images(index, tuple(size), color) as images:
        x, kept = images.read(images.rows)
    splits = np.asarray(index.splits)[kept]
    fit_rows = np.flatnonzero((splits == TRAIN) | (splits == VALIDATION))
    test_rows = np.flatnonzero(splits == TEST)
    if max_train and len(fit_rows) > max_train:
        fit_rows = np.sort(np.random.default_rng(seed).choice(fit_rows, max_train, replace=False))
    y = np.asarray(index.labels)[kept]

    def pixels(rows):
        return np.asarray(x[rows], np.float32).reshape(len(rows), -1) / 255.0

    def hogs(rows):
        cell = max(2, min(size) // 4)
        return np.stack([hog(np.asarray(x[r], np.float32).mean(-1) / 255.0,
                             orientations=9, pixels_per_cell=(cell, cell),
                             cells_per_block=(2, 2)) for r in rows])

    out = {"fit_images": len(fit_rows), "test_images": len(test_rows)}
    for name, features in (("svm_pixels", pixels), ("svm_hog", hogs)):
        t = time.perf_counter()
        svm = SVC(C=10, gamma="scale").fit(features(fit_rows), y[fit_rows])
        acc = float((svm.predict(features(test_rows)) == y[test_rows]).mean())
        out[name] = {"accuracy": acc, "seconds": time.perf_counter() - t}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("datasets", nargs="*", default=["digits", "sample"])
    p.add_argument("--reuse", metavar="RUN_DIR", help="take the app's result from this run of "
                   "`python -m training train DATA` (one dataset only) instead of training")
    p.add_argument("--svm-max-train", type=int, default=None,
                   help="fit the SVMs on at most this many images (SVC is quadratic)")
    p.add_argument("--epochs", type=int, default=None,
                   help="override the default epochs (a quick sanity run; not the default)")
    args = p.parse_args(argv)
    print(machine_line())
    rows = []
    for name in args.datasets:
        label, path = resolve(name)
        app = app_default(path, args.reuse, args.epochs)
        base = baselines(app["index"], app["size"], app["color"], args.svm_max_train)
        best = max(base["svm_pixels"]["accuracy"], base["svm_hog"]["accuracy"])
        h, w = app["size"]
        rows.append([label, f"{app['template']} {h}x{w} {app['color']}",
                     f"{app['accuracy']:.4f}", f"{app['epochs']}", fmt(app["seconds"] / 60, 1),
                     fmt(app["epoch_seconds"], 1),
                     f"{base['svm_pixels']['accuracy']:.4f}", f"{base['svm_hog']['accuracy']:.4f}",
                     f"{base['fit_images']:,}/{base['test_images']:,}",
                     f"{app['accuracy'] - best:+.4f}"])
        print(f"{label}: auto chose {app['template']}: " + " ".join(app["reasons"]), flush=True)
    print()
    print(table(["dataset", "default model (Auto)", "test acc", "epochs", "minutes", "s/epoch",
                 "SVM pixels", "SVM HOG", "SVM fit/test images", "default − best SVM"], rows))
    print(f"\npeak RSS {peak_rss_mb():.0f} MB; {load_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
