"""Active learning on Fashion-MNIST: how many labels each strategy needs (issue 23).

    python bench/active_learning.py                 # the reported run: pool = train[0:10000]
    python bench/active_learning.py --tune          # choosing the parameters, on other data

A simulated labeller answers with the true labels. Each seed starts from 10 labels per
class of the pool, drawn at random, the same for every strategy; every round trains the
product's fast model (``training.active``: the small CNN, since no ImageNet weights are
available here) on the labels so far less the held-back share, builds the queue as the app
does (``training.active.queue``: the strategy's ranking, one random check in 10 whose label is
held back), and the top 100 are labelled, up to 1,000 labels. Each round's model is scored on
the 10,000 Fashion-MNIST test images (never in the pool), and so is the held-back estimate
(its error against that test accuracy, and how often its 90 % range holds the test accuracy,
are printed per strategy). ``--split-check`` also scores each round on training images outside
the pool, the split the held-back labels come from: estimate minus that accuracy is the
estimate's own error, that accuracy minus the test accuracy the train/test split's offset.

Tuning (``--tune``) uses a disjoint pool (train[10000:20000]) and test set (train[20000:25000])
(5 seeds since the fifth pass, `--seeds 5`): it compares margin with entropy, the diverse
pre-filter size m, BADGE, another strategy for the first rounds (``badge<random@200``), the
fast model's recipe and BADGE's class cap (``--recipe``), so the reported run does not choose
its own parameters. The runs are deterministic: ``--first-seed`` adds seeds to a run made before.

Side by side: plain Keras (``model.fit`` on NumPy arrays and ``model.predict`` over the
pool) with the same network and epochs, at 1,000 labels, against one product round.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import cpu_seconds, fmt, machine_line, peak_rss_mb, table

import numpy as np

import make_sample

ROUND = 100
START_PER_CLASS = 10


# ``--split-check``: training images outside the pool and the test set, scored each round
# beside the test set. The held-back labels are a random sample of the pool (training
# split): their accuracy estimates this one, and its gap to the test accuracy is the split's.
SAME_SPLIT: list = []


def load(tune: bool, split_check: bool = False):
    x, y = make_sample.load_fashion_mnist(part="train")
    if split_check:
        lo, hi = (30000, 35000) if tune else (50000, 60000)
        SAME_SPLIT[:] = [x[lo:hi, :, :, None], y[lo:hi]]
    if tune:
        return x[10000:20000, :, :, None], y[10000:20000], x[20000:25000, :, :, None], y[20000:25000]
    xt, yt = make_sample.load_fashion_mnist(part="t10k")
    return x[:10000, :, :, None], y[:10000], xt[:, :, :, None], yt


def simulate(x, y, xt, yt, strategy, seed, up_to, measure, prefilter, share, weighted=False, spacing=0.0,
             early=None, every=None):
    """One labelling session; returns one row per round. ``early`` = (strategy, labels):
    that strategy ranks while fewer labels than that are given (tuning only)."""
    import keras

    from training.active.fastmodel import fast_spec
    from training.active.queue import CHECK_EVERY
    from training.active.rounds import array_reader, run_round

    classes = [str(c) for c in range(10)]
    rng = np.random.default_rng(seed)
    labels = np.full(len(x), -1, np.int64)
    for c in range(10):
        rows = rng.choice(np.flatnonzero(y == c), START_PER_CLASS, replace=False)
        labels[rows] = c
    keys = [f"fm-train-{i}" for i in range(len(x))]
    spec = fast_spec((28, 28), "grayscale")
    read, test_read = array_reader(x), array_reader(xt)
    out = []
    while True:
        keras.backend.clear_session()
        c0 = cpu_seconds()
        now = early[0] if early and int(np.sum(labels >= 0)) < early[1] else strategy
        res = run_round(read, labels, keys, classes, spec, now, ROUND, seed, share,
                        measure=measure, prefilter=prefilter, weighted=weighted, spacing=spacing, salt=seed,
                        every=every or CHECK_EVERY)
        cpu = cpu_seconds() - c0
        _, p, ok = res.model.predict(test_read, np.arange(len(xt)))
        acc = float(np.mean(p.argmax(axis=1) == yt[ok]))
        out.append({"labels": res.labels, "test": acc, "estimate": res.accuracy, "held": res.held_back,
                    "seconds": res.seconds["train"] + res.seconds["rank"], "cpu": cpu})
        if SAME_SPLIT:
            _, ps, ok = res.model.predict(array_reader(SAME_SPLIT[0]), np.arange(len(SAME_SPLIT[1])))
            out[-1]["split"] = float(np.mean(ps.argmax(axis=1) == SAME_SPLIT[1][ok]))
        print(f"  {strategy:11s} seed {seed} labels {res.labels:5d}: test {acc:.4f}, estimate "
              f"{fmt(res.accuracy, 3)} on {res.held_back}, round {out[-1]['seconds']:.1f} s"
              f"{', flips' if res.flips else ''}"
              + (f", training split {out[-1]['split']:.4f}" if SAME_SPLIT else ""), flush=True)
        if res.labels >= up_to:
            return out
        labels[res.positions] = y[res.positions]


def set_recipe(text: str) -> None:
    """Tuning only: override the fast model's recipe (``training.active.fastmodel``) and
    BADGE's per-class cap (``cap``: ``training.active.strategies.BADGE_CLASS_CAP``)."""
    from training.active import fastmodel, strategies

    names = {"steps": "TARGET_STEPS", "smoothing": "LABEL_SMOOTHING", "max_epochs": "MAX_EPOCHS", "min_epochs": "MIN_EPOCHS",
             "lr": "LEARNING_RATE"}
    for item in filter(None, text.split(",")):
        key, value = item.split("=")
        if key == "cap":
            strategies.BADGE_CLASS_CAP = float(value)
        elif key == "snapshots":   # e.g. snapshots=0.667 or 0.333/0.667 (fractions of the schedule)
            fastmodel.RANKING_SNAPSHOTS = tuple(float(v) for v in value.split("/") if v)
        elif key in ("flip", "translation", "rotation", "zoom", "contrast"):
            fastmodel.AUGMENTATION = {**fastmodel.AUGMENTATION, key: value if key == "flip" else float(value)}
        else:
            setattr(fastmodel, names[key], type(getattr(fastmodel, names[key]))(value))
    if text:
        print(f"Recipe: steps {fastmodel.TARGET_STEPS}, smoothing {fastmodel.LABEL_SMOOTHING}, max epochs "
              f"{fastmodel.MAX_EPOCHS}, lr {fastmodel.LEARNING_RATE}, augmentation "
              f"{fastmodel.AUGMENTATION}; BADGE class cap {strategies.BADGE_CLASS_CAP}; ranking snapshots "
              f"{fastmodel.RANKING_SNAPSHOTS}")


def labels_to_reach(curve_labels, curve_acc, target) -> float | None:
    """Labels at which the mean curve first reaches ``target`` (linear in between)."""
    for i, (n, a) in enumerate(zip(curve_labels, curve_acc)):
        if a >= target:
            if i == 0:
                return float(n)
            n0, a0 = curve_labels[i - 1], curve_acc[i - 1]
            return float(n0 + (n - n0) * (target - a0) / max(a - a0, 1e-12))
    return None


def plain_keras(x, y, labelled, pool):
    """The same network and epochs trained with model.fit on arrays, then model.predict
    over the pool: the time a round would take without the product's pipeline."""
    import keras

    from training.active.fastmodel import BATCH, epochs_for, fast_spec
    from training.models import build_model

    keras.backend.clear_session()
    t0 = time.perf_counter()
    model = build_model(fast_spec((28, 28), "grayscale"), 10)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy")
    model.fit(x[labelled].astype("float32"), y[labelled], batch_size=BATCH,
              epochs=epochs_for(len(labelled)), verbose=0)
    model.predict(x[pool].astype("float32"), batch_size=256, verbose=0)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tune", action="store_true", help="compare parameters on the tuning pool")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0, help="start at this seed (more seeds for a run "
                    "already made: the runs are deterministic, so seeds 0-2 need not be re-run for seeds 3-4)")
    ap.add_argument("--up-to", type=int, default=1000)
    ap.add_argument("--share", type=float, default=None, help="held-back share (default: the product's)")
    ap.add_argument("--only", help="only the configurations (strategies) whose name contains this (or one of these, "
                    "comma-separated)")
    ap.add_argument("--target", type=float, help="without random in the run (--only): random's "
                    "accuracy at the last round, from an earlier run of the same seeds")
    ap.add_argument("--every", type=int, default=None, help="one random check in this many queue places "
                    "(default: the product's)")
    ap.add_argument("--split-check", action="store_true", help="also score each round on training images "
                    "outside the pool (the held-back labels' own split): is the estimate's error noise or "
                    "the train/test split's offset?")
    ap.add_argument("--recipe", default="", help="tuning only: the fast model's recipe, e.g. "
                    "steps=900,smoothing=0.1,flip=horizontal,translation=0.1,max_epochs=60,snapshots=0.333/0.667 "
                    "(snapshots= : none)")
    args = ap.parse_args()
    set_recipe(args.recipe)
    from training.active.heldback import HOLDOUT_SHARE, estimate_range
    from training.active.strategies import DEFAULT_MEASURE, DEFAULT_PREFILTER, DEFAULT_SPACING, DEFAULT_WEIGHTED

    share = HOLDOUT_SHARE if args.share is None else args.share
    print(machine_line())
    x, y, xt, yt = load(args.tune, args.split_check)
    t_start, c_start = time.perf_counter(), cpu_seconds()
    if args.tune:
        configs = [("uncertainty", "margin", DEFAULT_PREFILTER, False),
                   ("uncertainty", "entropy", DEFAULT_PREFILTER, False),
                   ("diverse", "margin", 2, False), ("diverse", "margin", 4, False),
                   ("diverse", "margin", 8, False), ("diverse", "margin", 4, True),
                   ("diverse", "margin", 8, True), ("diverse", "margin", 8, 0.1),
                   ("diverse", "margin", 8, 0.3), ("badge", "margin", 8, False), ("random", "margin", 8, False),
                   ("badge<random@300", "margin", 8, False), ("badge<kcenter@300", "margin", 100, False),
                   ("badge<random@200", "margin", 8, False)]
        seeds = [100 + args.first_seed + s for s in range(args.seeds)]
    else:
        # The product's defaults: a float in the last place is diverse's spacing.
        configs = [("random", DEFAULT_MEASURE, DEFAULT_PREFILTER, DEFAULT_WEIGHTED),
                   ("uncertainty", DEFAULT_MEASURE, DEFAULT_PREFILTER, DEFAULT_WEIGHTED),
                   ("diverse", DEFAULT_MEASURE, DEFAULT_PREFILTER, DEFAULT_SPACING or DEFAULT_WEIGHTED),
                   ("badge", DEFAULT_MEASURE, DEFAULT_PREFILTER, DEFAULT_WEIGHTED)]
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    results = {}
    for strategy, measure, m, weighted in configs:
        spacing = weighted if isinstance(weighted, float) else 0.0   # a float: the spacing
        weighted = weighted is True
        early = None
        if "<" in strategy:   # "late<early@labels": the early strategy while under that many labels
            first, rest = strategy.split("<")
            early_name, until = rest.split("@")
            early = ("diverse" if early_name == "kcenter" else early_name, int(until))
        name = strategy if not args.tune else (f"{strategy}/{measure}" + (f"/m={m}" if strategy == "diverse" else "")
                                               + ("/weighted" if weighted else "")
                                               + (f"/spaced {spacing}" if spacing else ""))
        if args.only and not any(part in name for part in args.only.split(",")):
            continue
        results[name] = [simulate(x, y, xt, yt, strategy.split("<")[0], s, args.up_to, measure, m, share,
                                  weighted, spacing, early, args.every) for s in seeds]
    wall, cpu = time.perf_counter() - t_start, cpu_seconds() - c_start
    points = [r["labels"] for r in next(iter(results.values()))[0]]
    headers = ["labels"] + list(results)
    rows = []
    for i, n in enumerate(points):
        row = [n]
        for runs in results.values():
            accs = np.array([run[i]["test"] for run in runs])
            row.append(f"{accs.mean():.4f} ± {accs.std():.4f}")
        rows.append(row)
    print(f"\nTest accuracy (mean ± std over {len(seeds)} seeds; {'tuning' if args.tune else 'reported'} data; "
          f"{share:.0%} of the labels held back to estimate accuracy)\n")
    print(table(headers, rows))
    means = {k: np.mean([[r["test"] for r in run] for run in v], axis=0) for k, v in results.items()}
    print("\nHeld-back estimate - test accuracy, mean (mean absolute; over the rounds and seeds):")
    for k, runs in results.items():
        err = np.array([r["estimate"] - r["test"] for run in runs for r in run if r["estimate"] is not None])
        print(f"  {k:28s} {err.mean():+.3f} ({np.abs(err).mean():.3f})")
        rows = [r for run in runs for r in run if r["estimate"] is not None]
        ranges = [estimate_range(r["estimate"], r["held"]) for r in rows]
        inside = np.mean([lo <= r["test"] <= hi for r, (lo, hi) in zip(rows, ranges)])
        print(f"  {'':28s} test accuracy inside the estimate's 90 % range in {inside:.0%} of the rounds"
              + (f", the training split's in {np.mean([lo <= r['split'] <= hi for r, (lo, hi) in zip(rows, ranges)]):.0%}"
                 if SAME_SPLIT else ""))
        if SAME_SPLIT:   # noise or offset: the estimate against its own split, that split against test
            own = np.array([r["estimate"] - r["split"] for r in rows])
            gap = np.array([r["split"] - r["test"] for r in rows])
            print(f"  {'':28s} estimate - training split {own.mean():+.3f} ({np.abs(own).mean():.3f}); "
                  f"training split - test {gap.mean():+.3f} (sd {gap.std():.3f})")
    if args.tune:
        print("\nMean test accuracy over all rounds (area under the curve, higher is better):")
        for k, v in means.items():
            print(f"  {k:28s} {v.mean():.4f}")
        if args.target:
            for k, v in means.items():
                got = labels_to_reach(points, v, args.target)
                print(f"  {k:28s} reaches {args.target:.4f} at {fmt(got, 0) if got else f'> {points[-1]}'} labels")
    else:
        target = means["random"][-1] if "random" in means else args.target
        need = {}
        if target is not None:   # neither random in the run nor --target: the curves say it
            print(f"\nRandom picking's accuracy at {points[-1]} labels: {target:.4f}")
            for k, v in means.items():
                need[k] = labels_to_reach(points, v, target)
                print(f"  {k:12s} reaches it at {fmt(need[k], 0) if need[k] else f'> {points[-1]}'} labels")
        per_round = [r["seconds"] for runs in results.values() for run in runs for r in run]
        cpu_round = [r["cpu"] for runs in results.values() for run in runs for r in run]
        est_err = [abs(r["estimate"] - r["test"]) for runs in results.values() for run in runs for r in run
                   if r["estimate"] is not None]
        print(f"\nOne round (retrain + re-rank of the pool): median {np.median(per_round):.1f} s, "
              f"max {np.max(per_round):.1f} s; CPU {np.median(cpu_round):.1f} s a round (median)")
        print(f"Held-back estimate vs test accuracy: mean absolute error {np.mean(est_err):.3f}")
        labelled = np.flatnonzero(np.arange(len(x)) < 1000)
        plain = plain_keras(x, y, labelled, np.flatnonzero(np.arange(len(x)) >= 1000))
        print(f"Plain Keras, same network and epochs, 1,000 labels + predict 9,000: {plain:.1f} s "
              f"(product round at 1,000 labels, median over runs: "
              f"{np.median([run[-1]['seconds'] for runs in results.values() for run in runs]):.1f} s)")
    print(f"\nTotal {wall:.0f} s wall, {cpu:.0f} s CPU ({cpu / wall:.2f} cores busy on average); "
          f"peak RSS {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # After 90 rounds the interpreter's shutdown spun for minutes (tf.data's reader threads
    # of the finished rounds), holding the bench lock: the results are printed, so leave.
    os._exit(code)
