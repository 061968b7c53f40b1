"""``python -m training labels`` and ``health``: the label overlay and data health checks.

Kept apart from ``training.cli.main`` (which registers them) so the health commands grow here.
"""
from __future__ import annotations

import argparse
import os


def add_parsers(sub, dataset_options) -> None:
    """Register the ``labels`` and ``health`` sub-commands on ``sub``."""
    p = sub.add_parser("labels", help="relabel, exclude or restore images (a label overlay "
                       "beside the dataset; image files are never changed), export labels")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--relabel", nargs=2, action="append", default=[], metavar=("PATH", "CLASS"),
                   help="give PATH the class CLASS (repeatable)")
    p.add_argument("--exclude", action="append", default=[], metavar="PATH",
                   help="leave PATH out of training and evaluation (repeatable)")
    p.add_argument("--restore", action="append", default=[], metavar="PATH",
                   help="undo any fix of PATH (repeatable)")
    p.add_argument("--export", metavar="CSV", help="write the corrected labels as path,label")
    dataset_options(p)

    p = sub.add_parser("health", help="likely label errors, duplicates, split leakage, class "
                       "balance and outliers")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--run", metavar="RUN_DIR", help="a trained run: its predictions rank label "
                   "errors and its features find near duplicates")
    p.add_argument("--folds", type=int, default=None, help="cross-validation folds for the "
                   "out-of-sample probabilities (default 5 when retraining, else 3)")
    p.add_argument("--retrain", action=argparse.BooleanOptionalAction, default=None,
                   help="with --run (the default then): train its model again per fold and rank "
                   "label errors on those out-of-sample probabilities; --no-retrain: quicker, "
                   "K-fold regression on the run's features (finds fewer)")
    p.add_argument("--repeats", type=int, default=None, help="K-fold retraining passes, averaged "
                   "(default 2)")
    p.add_argument("--top", type=int, default=20, help="how many of each finding to print")
    dataset_options(p)


def cmd_labels(args, events, out):
    from training.cli.args import InputError, dataset_spec
    from training.data import open_dataset
    from training.data.overlay import export_csv, load_overlay, overlay_info

    spec = dataset_spec(args, args.data)
    raw = open_dataset(spec, events, overlay=False)
    overlay = load_overlay(raw.root)
    known = {overlay.key(p): i for i, p in enumerate(raw.paths)}

    def row_of(path):
        k = overlay.key(os.path.abspath(path)) if os.path.exists(path) else overlay.key(path)
        if k not in known:
            raise InputError(f"Not an image of this dataset. Received: {path!r}")
        return raw.paths[known[k]], known[k]

    for path, label in args.relabel:
        p, i = row_of(path)
        if label not in raw.classes:
            raise InputError(f"Unknown class {label!r}; the classes are {', '.join(raw.classes)}")
        overlay.relabel(p, label, original=raw.classes[int(raw.labels[i])])
    for path in args.exclude:
        overlay.exclude(row_of(path)[0])
    for path in args.restore:
        overlay.restore(row_of(path)[0])
    if args.relabel or args.exclude or args.restore:
        print(f"Saved {overlay.save()}", file=out)
    index = open_dataset(spec, events)
    info = dict(index.overlay or {})
    print(f"{len(overlay.labels)} relabelled, {len(overlay.excluded)} excluded "
          f"({info.get('path') or 'no overlay file yet'})", file=out)
    if args.export:
        n = export_csv(index, args.export)
        print(f"Wrote {n:,} labels to {args.export}", file=out)
    return 0, {"overlay": overlay_info(index),
               "relabelled": dict(overlay.labels), "excluded": sorted(overlay.excluded),
               "num_samples": len(index), "exported": args.export}


def cmd_health(args, events, out):
    from training.cli.args import InputError, dataset_spec
    from training.health import check_health, print_report

    if args.retrain and not args.run:
        raise InputError("--retrain needs --run RUN_DIR (the model to train again per fold)")
    if args.folds is not None and args.folds < 2:
        raise InputError(f"--folds must be at least 2. Received: {args.folds}")
    if args.repeats is not None and args.repeats < 1:
        raise InputError(f"--repeats must be at least 1. Received: {args.repeats}")
    spec = dataset_spec(args, args.data)
    result = check_health(spec, run_dir=args.run, events=events, folds=args.folds, seed=args.seed,
                          retrain=args.retrain, repeats=args.repeats)
    events.finish_line()
    print_report(result, out, top=args.top)
    return 0, result


COMMANDS = {"labels": cmd_labels, "health": cmd_health}
