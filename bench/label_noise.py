"""Planted label errors: how many does the Data health ranking find?

    python bench/label_noise.py [--data resources/sample | --fashion 6000] [--noise 0.05]
                                [--epochs 8] [--folds K] [--repeats R] [--seed S]

Copies the dataset (default: the bundled 1,500-image Fashion-MNIST sample) to a temporary
folder, moves ``--noise`` of its images (every split) to a random other class through the
label overlay (the same mechanism as a user's relabel; the PNGs are untouched), trains the
CNN template on the corrupted labels with ``training.fit.train.train``, then runs
``training.health.check_health`` with that run (its default, K-fold retraining of the
run's model, and the quick ``retrain=False``), and once without a run. It reports, for
the top-k of the ranking (k = number planted) and for cleanlab's own flagged set, the
precision (share of listed images that were planted) and recall (share of planted ones
listed). The no-run row is the fallback the app uses before any model is trained.
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
from common import SAMPLE_DIR, fmt, machine_line, peak_rss_mb, table, write_fashion_pngs


def plant(root: str, noise: float, seed: int) -> dict[str, str]:
    """Relabel ``noise`` of the images of ``root`` to a random other class (overlay)."""
    from training.data import open_dataset
    from training.data.overlay import load_overlay

    index = open_dataset(root, overlay=False)
    rng = np.random.default_rng(seed)
    k = round(noise * len(index))
    rows = rng.choice(len(index), size=k, replace=False)
    overlay = load_overlay(index.root)
    planted = {}
    for r in rows:
        given = int(index.labels[r])
        wrong = int(rng.choice([c for c in range(len(index.classes)) if c != given]))
        overlay.relabel(index.paths[r], index.classes[wrong])
        planted[index.paths[r]] = index.classes[wrong]
    overlay.save()
    return planted


def score(listed_paths, planted: set) -> tuple[float, float, int]:
    hits = sum(p in planted for p in listed_paths)
    precision = hits / len(listed_paths) if listed_paths else 0.0
    return precision, hits / len(planted), hits


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=SAMPLE_DIR)
    ap.add_argument("--fashion", type=int, metavar="N", help="instead of --data: the first N "
                    "Fashion-MNIST training images (and N/6 test images) as PNGs")
    ap.add_argument("--noise", type=float, default=0.05)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--folds", type=int, default=None, help="default: the product's (labels.RETRAIN_FOLDS when retraining, 3 else)")
    ap.add_argument("--repeats", type=int, default=None, help="retraining passes (default: the product's, 2)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    work = tempfile.mkdtemp(prefix="bench-label-noise-")
    os.environ.setdefault("WORKBENCH_RUNS_DIR", os.path.join(work, "runs"))
    os.environ.setdefault("WORKBENCH_DATA_DIR", os.path.join(work, "appdata"))
    try:
        data = os.path.join(work, "data")
        if args.fashion:
            source = write_fashion_pngs(limit=args.fashion,
                                        out=os.path.join(tempfile.gettempdir(),
                                                         f"workbench-bench-fashion-{args.fashion}"))["path"]
            args.data = f"Fashion-MNIST, first {args.fashion} train images"
        else:
            source = args.data
        shutil.copytree(source, data, ignore=shutil.ignore_patterns(".workbench"))
        planted = plant(data, args.noise, args.seed)
        planted_set = set(planted)
        k = len(planted)

        from training.recipe.config import TrainConfig
        from training.data import open_dataset, suggest_input
        from training.health import check_health
        from training.models import template
        from training.fit.train import train

        index = open_dataset(data)
        size, mode = suggest_input(index)
        spec = template("cnn", input_size=size, color_mode=mode)
        t0 = time.perf_counter()
        summary = train(index, spec, TrainConfig(epochs=args.epochs, early_stopping=False, seed=args.seed),
                        run_dir=os.path.join(work, "run"))
        t_train = time.perf_counter() - t0
        t0 = time.perf_counter()
        default = check_health(data, run_dir=summary.run_dir, folds=args.folds, seed=args.seed,
                               limit=len(index), repeats=args.repeats)
        t_default = time.perf_counter() - t0
        t0 = time.perf_counter()
        features = check_health(data, run_dir=summary.run_dir, folds=args.folds, seed=args.seed,
                                limit=len(index), retrain=False)
        t_features = time.perf_counter() - t0
        t0 = time.perf_counter()
        no_run = check_health(data, folds=args.folds, seed=args.seed, limit=len(index))
        t_norun = time.perf_counter() - t0

        rows = []
        for name, res, secs in (("default: " + default["label_issues"]["method"], default, t_default),
                                ("--no-retrain: " + features["label_issues"]["method"], features, t_features),
                                ("no run: " + no_run["label_issues"]["method"], no_run, t_norun)):
            paths = index.paths
            topk = [paths[r] for r in res["label_issues"]["ranked_rows"][:k]]
            flagged = [it["path"] for it in res["label_issues"]["items"]]
            p_k, r_k, _ = score(topk, planted_set)
            p_f, r_f, _ = score(flagged, planted_set)
            rows.append([name, k, fmt(p_k), fmt(r_k), len(flagged), fmt(p_f), fmt(r_f), fmt(secs, 1)])
        print(machine_line())
        print(f"Dataset {args.data}: {len(index):,} images, {k} labels planted wrong "
              f"({args.noise:.0%}); CNN {args.epochs} epochs ({t_train:.0f} s), test accuracy "
              f"{summary.test_accuracy:.3f} on the corrupted labels.")
        print(table(["ranking", "k", "top-k precision", "top-k recall", "flagged",
                     "flagged precision", "flagged recall", "seconds"], rows))
        print(f"peak RSS {peak_rss_mb():.0f} MB")
        best = rows[0]
        ok = float(best[3]) >= 0.8 and float(best[2]) >= 0.6
        print(f"SUMMARY label errors: top-{k} recall {best[3]} at precision {best[2]} "
              f"(target recall >= 0.8 at precision >= 0.6): {'PASS' if ok else 'FAIL'}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
