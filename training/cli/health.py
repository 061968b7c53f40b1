"""``python -m training health`` (data health checks), and the registration of ``labels``
(``training.cli.labels``).

Kept apart from ``training.cli.main`` (which registers them) so the health commands grow here.
"""
from __future__ import annotations

import argparse


def add_parsers(sub, dataset_options) -> None:
    """Register the ``labels`` (``training.cli.labels``) and ``health`` sub-commands."""
    from training.cli.args import dataset_labels_options
    from training.cli.labels import add_parser

    add_parser(sub, dataset_options, dataset_labels_options)
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


def _cmd_labels(args, events, out):
    from training.cli.labels import cmd_labels

    return cmd_labels(args, events, out)


COMMANDS = {"labels": _cmd_labels, "health": cmd_health}
