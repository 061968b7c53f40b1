"""``python -m training``: inspect, train, evaluate, predict and list runs from a terminal.

Exit codes: 0 success, 2 bad input (dataset, spec, run folder, arguments, files),
1 internal error. With ``--json`` the last line on stdout is one JSON object and all
human-readable output goes to stderr; on any error (unparseable arguments included) that
object is ``{"error": message, "kind": "bad_input" | "internal"}``. ``predict --json``
prints ``{"run_dir", "classes", "predictions": [{"path", "top_k": [[class, p], …],
"error"}], "num_classified", "num_failed"}``.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback

from training.cli.args import (InputError, dataset_labels_options, dataset_options, dataset_spec,
                               stop_on_sigint)
from training.cli.progress import TerminalEvents
from training.cli.stream import end as stream_end
from training.cli.stream import quick_exit, watch_stdin
from training.recipe.config import LR_SCHEDULES, OPTIMIZERS, TrainConfig
from training.logs import FILE_ONLY, setup_logging
from training.models.spec import COLOR_MODES
from training.models.templates import TEMPLATES
from training.runs.runfolder import MODEL_CHOICES

log = logging.getLogger(__name__)

MODELS = tuple(TEMPLATES)   # the core's template names, in its order
_TRAIN_DEFAULTS = TrainConfig()  # one owner of the defaults: the CLI shows the same ones


def _bad_input_types() -> tuple:
    from training.service.errors import bad_input_types

    return (InputError, *bad_input_types())


class ArgumentError(Exception):
    """An argparse error, raised instead of exiting so ``--json`` can report it as JSON."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's default prints usage and exits 2
        self.print_usage(sys.stderr)
        raise ArgumentError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m training",
                                     description="Train and inspect image classifiers offline.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inspect", help="dataset summary and bad-file report")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--quick", action="store_true",
                   help="list files only; skip decoding (corrupt files are then not found)")
    dataset_options(p)
    dataset_labels_options(p)

    p = sub.add_parser("train", help="train a model and save a run folder")
    p.add_argument("data", metavar="DATA", nargs="?")
    dataset_options(p)
    dataset_labels_options(p)
    p.add_argument("--model", choices=("auto", *MODELS), default="auto",
                   help="auto (default) picks the template and input size from the data and "
                   "says why")
    p.add_argument("--spec", metavar="SPEC_JSON", help="a saved model spec (overrides --model)")
    p.add_argument("--epochs", type=int, default=None,
                   help="default: from the number of training images (about 1 million images "
                   f"seen, {_TRAIN_DEFAULTS.epochs} at most; see training/recipe/epoch_budget.py)")
    p.add_argument("--image-size", metavar="N|HxW", help="input size (default: from the data for "
                   "mlp/cnn, the backbone's size for transfer models)")
    p.add_argument("--color", choices=COLOR_MODES)
    p.add_argument("--batch-size", type=int, default=_TRAIN_DEFAULTS.batch_size)
    p.add_argument("--lr", type=float, default=_TRAIN_DEFAULTS.learning_rate, help="learning rate")
    p.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default=_TRAIN_DEFAULTS.optimizer)
    p.add_argument("--patience", type=int, default=_TRAIN_DEFAULTS.patience)
    p.add_argument("--lr-schedule", choices=tuple(LR_SCHEDULES), default=_TRAIN_DEFAULTS.lr_schedule,
                   help="; ".join(f"{name}{' (default)' if name == _TRAIN_DEFAULTS.lr_schedule else ''}: "
                                  f"{what}" for name, what in LR_SCHEDULES.items()))
    p.add_argument("--no-early-stopping", action="store_true")
    p.add_argument("--ema-epochs", type=float, default=_TRAIN_DEFAULTS.ema_epochs, metavar="E",
                   help="validate and keep a moving average of the weights over about E epochs "
                        "(default 0: off; docs/BENCHMARKS.md 8c measured no gain)")
    p.add_argument("--fine-tune-epochs", type=int, default=_TRAIN_DEFAULTS.fine_tune_epochs)
    p.add_argument("--fine-tune-from", type=int, help="backbone layer index to unfreeze from")
    p.add_argument("--fine-tune-lr", type=float, default=_TRAIN_DEFAULTS.fine_tune_lr)
    p.add_argument("--weights", default="imagenet", help="imagenet | random | PATH (transfer models)")
    p.add_argument("--augment", action="store_true", help="random flip, rotation and zoom")
    p.add_argument("--flip-tta", action="store_true",
                   help="a model trained with horizontal flips (--augment, or Auto's choice for "
                        "colour photos) averages each image and its mirror when predicting "
                        "(test-time augmentation; off by default: no gain measured, "
                        "docs/BENCHMARKS.md 8c)")
    p.add_argument("--download-weights", action="store_true",
                   help="download missing ImageNet backbone weights into the Keras cache "
                   "(the only time the CLI goes online)")
    # Flags, not a value: "--mixed-precision DATA" must keep meaning what it always did.
    p.add_argument("--mixed-precision", dest="mixed_precision", action="store_const", const="on",
                   help="float16 compute on a GPU even where auto would not (the default, "
                   "auto, uses it on a GPU and not on a CPU, where it is slower)")
    p.add_argument("--no-mixed-precision", dest="mixed_precision", action="store_const",
                   const="off", help="float32 compute on a GPU too")
    p.add_argument("--no-feature-cache", action="store_true")
    p.add_argument("--class-weight", metavar="balanced|CLASS=W,…",
                   help="weigh the loss per class: 'balanced' (inverse class frequency) "
                        "or e.g. 'cat=1,dog=3'; helps the small classes of imbalanced data")
    p.add_argument("--config", metavar="CONFIG_JSON",
                   help="training settings from a JSON file (a run's saved config, or any "
                        "saved TrainConfig); the training options above are then not used")
    p.add_argument("--out", metavar="RUN_DIR", help="run folder to create")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a stopped or interrupted run")
    p.add_argument("--devices", metavar="one|all|LIST",
                   help="one device (default), all GPUs, or a list such as GPU:0,GPU:1 "
                        "(--batch-size is then per device; see docs/DISTRIBUTED.md)")
    p.add_argument("--strategy", choices=("single", "multi-worker"), default="single",
                   help="multi-worker: this process is one worker of a cluster described by "
                        "TF_CONFIG or Slurm; run one command per worker")
    p.add_argument("--events", action="store_true",
                   help="for a supervising program: stdout carries one JSON event per line "
                        "(training/cli/stream.py), everything else goes to stderr; the run "
                        "stops when stdin closes")
    p.add_argument("--background", action="store_true",
                   help="run at a lower CPU priority (nice 10, and always below the process "
                        "that started it; below normal on Windows), as the app starts its "
                        "trainings, so the machine stays responsive; the training still "
                        "gets every cycle nothing else uses")
    p.add_argument("--wait-for-job", action="store_true",
                   help="with --events: import TensorFlow first, then read the train "
                        "arguments as one JSON line on stdin (a spare process kept ready)")

    p = sub.add_parser("evaluate", help="evaluate a saved run")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("data", metavar="DATA", nargs="?")
    p.add_argument("--which", choices=MODEL_CHOICES, default=MODEL_CHOICES[0])
    dataset_options(p)

    p = sub.add_parser("predict", help="classify image files or folders with a saved run, "
                                       "or an exported .onnx/.tflite file or SavedModel folder")
    p.add_argument("run_dir", metavar="RUN_DIR|MODEL")
    p.add_argument("paths", metavar="PATH", nargs="+")
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--csv", metavar="OUT", help="also write the results as CSV")
    p.add_argument("--which", choices=MODEL_CHOICES, default=MODEL_CHOICES[0])
    p.add_argument("--coverage", type=float, metavar="C",
                   help="share of the validation images to answer (0-1]; lower answers "
                        "'unknown' more often but is right more often (default: the run's)")

    p = sub.add_parser("runs", help="list and compare runs")
    p.add_argument("dir", metavar="DIR", nargs="?")

    from training.cli import export as export_cli
    from training.cli.health import add_parsers

    add_parsers(sub, dataset_options)
    export_cli.add_parser(sub)
    from training.cli import embedmap   # map, similar (issue 24)

    embedmap.add_parsers(sub)
    from training.cli import sort as sort_cli

    sort_cli.add_parser(sub)
    from training.cli import active as active_cli

    active_cli.add_parser(sub, dataset_options)

    for action in sub.choices.values():
        action.add_argument("--json", action="store_true", help="last stdout line: one JSON value")
    return parser


def main(argv=None) -> int:
    """Run one command; returns the exit code (never raises, except on SystemExit)."""
    setup_logging()
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    stream = None
    try:
        args = parser.parse_args(argv)
        _maybe_background(args)   # before a spare's TensorFlow import in _supervised
        if getattr(args, "events", False) or getattr(args, "wait_for_job", False):
            stream, args = _supervised(args, parser)
            _maybe_background(args)   # a spare's job may ask for it
    except ArgumentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if "--json" in argv:  # the JSON contract holds for a command line it cannot parse
            print(json.dumps({"error": str(exc), "kind": "bad_input"}))
        if stream is not None:
            stream_end(stream, 2, error=str(exc), kind="bad_input")
            quick_exit(2)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    out = sys.stderr if args.json else sys.stdout
    events = TerminalEvents(sys.stderr, out)
    if stream is not None:
        stream.inner = events
        events = stream
        watch_stdin(events)
    try:
        result = COMMANDS[args.command](args, events, out)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        if stream is not None:
            stream_end(stream, 1, error="Interrupted.", kind="internal")
            quick_exit(1)
        return 1
    except Exception as exc:  # the CLI turns every error into an exit code
        try:
            bad_input = isinstance(exc, _bad_input_types())
        except Exception:  # noqa: BLE001  (a broken import is itself an internal error)
            bad_input = False
        message = str(exc) or type(exc).__name__
        if bad_input or _clean_failure(exc):  # a known failure: its message, no traceback
            print(f"error: {message}", file=sys.stderr)
        else:
            traceback.print_exc(file=sys.stderr)
            log.error("internal error in %r", args.command, exc_info=exc, extra=FILE_ONLY)
            print(f"internal error: {type(exc).__name__}: {message}", file=sys.stderr)
        kind = "bad_input" if bad_input else "internal"
        if args.json:
            print(json.dumps({"error": message, "kind": kind}))
        if stream is not None:
            stream_end(stream, 2 if bad_input else 1, error=message, kind=kind)
            quick_exit(2 if bad_input else 1)
        return 2 if bad_input else 1
    code, payload = result
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, default=_plain))
    if stream is not None:
        stream_end(stream, code, result=payload)
        quick_exit(code)
    sys.stdout.flush()
    return code


def _maybe_background(args) -> None:
    if getattr(args, "background", False):
        from training.cpus import run_in_background

        run_in_background()


def _supervised(args, parser):
    """``train --events`` (and ``--wait-for-job``): the event stream on stdout, the
    parent-death signal, and for a spare process TensorFlow first, then the job."""
    from training.cli.stream import EventStream, claim_stdout, die_with_parent, hello, read_job

    if args.command != "train":
        raise ArgumentError(f"--events is for train only. Received: {args.command}")
    stream = EventStream(claim_stdout(), TerminalEvents(sys.stderr, sys.stderr))
    die_with_parent()
    hello(stream)
    if args.wait_for_job:
        import training.fit.train  # noqa: F401  (TensorFlow and Keras: the slow part)

        stream.send({"type": "ready"})
        try:
            job = read_job()
        except ValueError as exc:
            raise ArgumentError(f"no job: {exc}") from None
        args = parser.parse_args(["train", *[str(a) for a in job["argv"]]])
    return stream, args


def _clean_failure(exc) -> bool:
    """A failure the core explained (a lost worker): exit 1, but no traceback."""
    from training.fit.distributed import DistributedError

    return isinstance(exc, DistributedError)


def _plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


# -- commands --------------------------------------------------------------------------
def _open(args, path, events):
    from training.data import open_dataset

    spec = dataset_spec(args, path)
    index = open_dataset(spec, events, dataset_labels=getattr(args, "dataset_labels", None))
    index.spec = spec  # lets train() record how to reopen the same split
    return index


def _foreign_labels(index, out) -> dict | None:
    """Say what became of label fixes that came with the dataset (made elsewhere)."""
    from training.cli.labels import foreign_hint

    foreign = (getattr(index, "overlay", None) or {}).get("foreign")
    if foreign:
        print(f"note: {foreign_hint(foreign)}", file=out)
    return foreign


def cmd_inspect(args, events, out):
    from training.data.overlay import foreign_message

    index = _open(args, args.data, events)
    undecodable = []
    if not args.quick:
        # Indexing cannot see truncated, corrupt or empty files; decoding can. The decoded
        # images land in the cache, so a later train at the default size decodes nothing.
        from training.data import verify_images

        undecodable = verify_images(index, events)
    summary = index.summary()
    summary["counts"], summary["num_samples"] = _usable_counts(index, undecodable)
    summary["image_stats"] = index.image_stats()
    summary["labelled"] = summary["num_samples"]
    print(f"{summary['root']} ({summary['kind']}): {summary['num_samples']:,} "
          f"{'labelled ' if summary['unlabelled'] else ''}images, "
          f"{len(summary['classes'])} classes"
          + (f"; {summary['unlabelled']:,} unlabelled images" if summary["unlabelled"] else ""),
          file=out)
    counts = summary["counts"]
    width = max([len(c) for c in summary["classes"]] + [len("(unlabelled)")] * bool(summary["unlabelled"]),
                default=5)
    print(f"  {'class'.ljust(width)}  {'train':>7} {'val':>7} {'test':>7}", file=out)
    for c in summary["classes"]:
        print(f"  {c.ljust(width)}  {counts['train'][c]:>7} {counts['validation'][c]:>7} "
              f"{counts['test'][c]:>7}", file=out)
    if summary["unlabelled"]:
        print(f"  {'(unlabelled)'.ljust(width)}  {summary['unlabelled']:>7}  not used for training: "
              "label them in the app or with: labels DATA --relabel PATH CLASS", file=out)
    st = summary["image_stats"]
    if st.get("sampled"):
        w, h = st["width"], st["height"]
        print(f"  image size (from {st['sampled']} sampled): width {w['min']}-{w['max']} "
              f"(median {w['median']}), height {h['min']}-{h['max']} (median {h['median']}); "
              f"modes {', '.join(f'{m}: {n}' for m, n in st.get('modes', {}).items())}",
              file=out)
    foreign = _foreign_labels(index, out)
    summary["foreign_labels"] = foreign
    for w in summary["warnings"]:
        if not (foreign and w.startswith(foreign_message(foreign))):  # said above, with the flags
            print(f"warning: {w}", file=out)
    _print_bad_files(summary["bad_files"], out)
    return 0, summary


def _usable_counts(index, undecodable):
    """``index.counts()`` and the sample count without the files decoding found bad (the
    index still lists them; training leaves them out), so counts + bad files add up."""
    import numpy as np

    from training.data.index import SPLIT_NAMES

    if not undecodable:
        return index.counts(), len(index)
    # Only decode failures: other reports (a CSV's duplicate row) name files still used.
    bad = {b.path for b in undecodable}
    keep = np.fromiter((p not in bad for p in index.paths), bool, len(index.paths))
    labels, splits = index.labels[keep], index.splits[keep]
    counts = {name: {c: int(n) for c, n in zip(index.classes, np.bincount(
        labels[splits == s], minlength=len(index.classes)))} for s, name in enumerate(SPLIT_NAMES)}
    return counts, int(keep.sum())


def _print_bad_files(bad_files, out):
    if bad_files:
        print(f"{len(bad_files)} file(s) skipped:", file=out)
        for b in bad_files:
            print(f"  {b['path']}: {b['reason']}", file=out)


def _parse_size(text):
    if text is None:
        return None
    try:
        parts = [int(v) for v in text.lower().replace("x", " ").split()]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or min(parts) < 1:
        raise InputError(f"--image-size must be N or HxW with positive integers. Received: {text!r}")
    return tuple(parts)


def _model_spec(args, index, events):
    from training.data import suggest_input
    from training.models import AugmentationSpec, ModelSpec, template

    if args.spec:
        if not os.path.isfile(args.spec):
            raise InputError(f"Spec file not found. Received: --spec {args.spec!r}")
        try:
            return ModelSpec.load(args.spec)
        except ValueError as exc:  # SpecError: name the file when the message doesn't
            text = str(exc)
            raise InputError(text if args.spec in text else f"{args.spec}: {text}") from None
    size, color = _parse_size(args.image_size), args.color
    if args.model == "auto":
        from training.cli.model import auto_spec

        spec = auto_spec(index, events, download=args.download_weights)
        spec.input_size, spec.color_mode = size or spec.input_size, color or spec.color_mode
    elif args.model in ("mlp", "cnn"):
        suggested_size, suggested_color = suggest_input(index)
        size, color = size or tuple(suggested_size), color or suggested_color
        spec = template(args.model, input_size=size, color_mode=color)
    else:
        spec = template(args.model, input_size=size, color_mode=color, weights=args.weights,
                        fine_tune_from=args.fine_tune_from)
    if args.augment:
        spec.augmentation = AugmentationSpec(flip="horizontal", rotation=0.05, zoom=0.1)
    if args.download_weights and args.model != "auto":
        from training.cli.model import ensure_weights

        ensure_weights(spec, events)
    return spec


MIXED_PRECISION = {None: "auto", "on": True, "off": False}


def _train_config(args, index=None, events=None):
    from training.recipe.config import TrainConfig, parse_class_weight

    if args.config:
        return _config_file(args.config)
    if args.epochs is None:  # no --epochs: a budget from the dataset's size
        from training.recipe.epoch_budget import default_epochs, epochs_reason

        n = int(sum((index.counts().get("train") or {}).values())) if index is not None else 0
        args.epochs = default_epochs(n, args.batch_size) if n else _TRAIN_DEFAULTS.epochs
        if events is not None and n and (args.spec or args.model != "auto"):
            events.on_status(epochs_reason(n, args.batch_size))  # Auto prints it among its reasons
    if args.epochs < 1:  # a "complete" run with no model helps no one (the GUI refuses it too)
        raise InputError(f"--epochs must be at least 1. Received: --epochs {args.epochs}")
    try:
        return TrainConfig(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer,
                           learning_rate=args.lr, early_stopping=not args.no_early_stopping,
                           patience=args.patience, lr_schedule=args.lr_schedule,
                           fine_tune_epochs=args.fine_tune_epochs,
                           fine_tune_lr=args.fine_tune_lr, seed=args.seed,
                           mixed_precision=MIXED_PRECISION[args.mixed_precision],
                           feature_cache=not args.no_feature_cache,
                           class_weight=parse_class_weight(args.class_weight),
                           ema_epochs=args.ema_epochs,
                           devices=args.devices or "one",
                           multi_worker=args.strategy == "multi-worker")
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _config_file(path):
    from training.recipe.config import TrainConfig
    from training.runs.runfolder import RunError, read_json

    try:
        return TrainConfig.from_dict(read_json(path))
    except (RunError, ValueError) as exc:   # name the file when the message doesn't
        text = str(exc)
        raise InputError(text if str(path) in text else f"{path}: {text}") from None


def _report_device(args, events, config=None) -> None:
    """The event stream's ``device`` message: where this run trains, in which precision,
    and what is missing when a GPU is there but TensorFlow cannot use it."""
    if not hasattr(events, "send") or args.strategy == "multi-worker":
        return   # a multi-worker strategy must be made before TensorFlow looks at devices
    from training.fit.device import describe_devices
    from training.fit.distributed import saved_config
    from training.fit.session import uses_mixed_precision

    if config is None:
        try:
            config = saved_config(args.resume, {})
        except Exception:  # noqa: BLE001  (resume() itself says what is wrong with the run)
            return
    info = describe_devices()
    events.send({"type": "device", "name": info["name"], "gpus": info["gpus"],
                 "mixed_precision": uses_mixed_precision(config.mixed_precision, bool(info["gpus"])),
                 "problem": info.get("gpu_missing")})


def cmd_train(args, events, out):
    from training.fit.distributed import network_warnings
    from training.fit.train import resume, train

    warnings = network_warnings() if args.strategy == "multi-worker" else []
    for w in warnings:   # before the workers open their ports
        print(f"warning: {w}", file=sys.stderr)
    foreign = None
    if args.resume:
        _report_device(args, events)
        with stop_on_sigint(events):
            summary = resume(args.resume, events=events, devices=args.devices,
                             multi_worker=args.strategy == "multi-worker")
    else:
        index = _open(args, args.data, events)
        foreign = _foreign_labels(index, out)
        spec = _model_spec(args, index, events)
        if args.flip_tta:  # also for --spec: a setting of this run, like the others
            spec.augmentation.test_time_flip = True
        config = _train_config(args, index, events)
        _report_device(args, events, config)
        with stop_on_sigint(events):
            summary = train(index, spec, config, events, run_dir=args.out)
    result = summary.to_dict()
    result["network_warnings"], result["foreign_labels"] = warnings, foreign
    events.finish_line()
    if not args.resume:
        # Indexing and decoding both add to index.bad_files: report every skipped item once.
        result["bad_files"] = [b.to_dict() for b in index.bad_files]
        _print_bad_files(result["bad_files"], out)
    print(f"Run {result['status']}: {result['run_dir']}", file=out)
    if result["test_accuracy"] is not None:
        print(f"Test accuracy {result['test_accuracy']:.4f}, loss {result['test_loss']:.4f}", file=out)
    return 0, result


def cmd_evaluate(args, events, out):
    from training.inference.evaluate import evaluate

    if not os.path.isdir(args.run_dir):
        raise InputError(f"Run folder not found. Received: {args.run_dir!r}")
    dataset = _open(args, args.data, events) if args.data else None
    with stop_on_sigint(events):
        result = evaluate(args.run_dir, dataset, events=events, which=args.which)
    events.finish_line()
    print(f"{result['split']} accuracy {result['accuracy']:.4f}, loss {result['loss']:.4f} "
          f"on {result['num_samples']:,} images", file=out)
    _print_report(result, out)
    _print_bad_files(result.get("bad_files") or [], out)
    _print_trust(result, out)
    keys = ("run_dir", "split", "num_samples", "test_accuracy", "test_loss", "classes",
            "confusion_matrix", "per_class", "macro_avg", "weighted_avg", "warnings", "bad_files",
            "balanced_accuracy", "calibration", "unknown", "pr_curves")
    return 0, {k: result.get(k) for k in keys}


def _print_report(result, out):
    width = max(len(c) for c in result["classes"])
    print(f"  {'class'.ljust(width)}  precision  recall     f1  support", file=out)
    for row in result["per_class"]:
        print(f"  {row['class'].ljust(width)}  {row['precision']:9.3f} {row['recall']:7.3f} "
              f"{row['f1']:6.3f} {row['support']:8d}", file=out)
    print("confusion matrix (rows: true, columns: predicted):", file=out)
    for c, row in zip(result["classes"], result["confusion_matrix"]):
        print(f"  {c.ljust(width)}  " + " ".join(f"{v:5d}" for v in row), file=out)


def _print_trust(result, out):
    if result.get("balanced_accuracy") is not None:
        print(f"balanced accuracy {result['balanced_accuracy']:.4f}", file=out)
    cal = result.get("calibration")
    if cal and cal.get("ece_before") is not None:
        print(f"calibration: temperature {cal['temperature']:.3f}, ECE {cal['ece_before']:.4f} "
              f"-> {cal['ece_after']:.4f}", file=out)
    unk = result.get("unknown")
    if unk:
        print(f"unknown: {unk['unknown_rate']:.1%} of {unk['num_samples']} images "
              f"({', '.join(f'{n} {r}' for r, n in sorted(unk['by_reason'].items())) or 'none'})",
              file=out)


def cmd_predict(args, events, out):
    from training.export.predictor import open_predictor
    from training.inference.predict import write_csv

    if args.top_k < 1:
        raise InputError(f"--top-k must be at least 1. Received: {args.top_k}")
    if args.coverage is not None and not 0.0 < args.coverage <= 1.0:
        raise InputError(f"--coverage must be more than 0 and at most 1. Received: {args.coverage}")
    predictor = open_predictor(args.run_dir, which=args.which)
    predictor.coverage = args.coverage
    with stop_on_sigint(events):
        results = predictor.predict_paths(args.paths, top_k=args.top_k, events=events)
    events.finish_line()
    for r in results:
        if r["error"]:
            print(f"{r['path']}: ERROR {r['error']}", file=out)
        else:
            verdict = f"unknown ({r['unknown_reason']}); " if r.get("unknown") else ""
            print(f"{r['path']}: {verdict}" + ", ".join(f"{c} {p:.3f}" for c, p in r["top_k"]),
                  file=out)
    if args.csv:
        write_csv(results, args.csv, top_k=args.top_k)
        print(f"Wrote {args.csv}", file=out)
    ok = sum(1 for r in results if not r["error"])
    if results and not ok:
        events.on_status("error: no image could be classified")
    payload = {"run_dir": os.path.abspath(args.run_dir), "classes": list(predictor.classes),
               "predictions": [{k: r.get(k) for k in ("path", "top_k", "unknown", "unknown_reason",
                                                     "confidence", "distance", "error")}
                               for r in results],
               "num_classified": ok, "num_failed": len(results) - ok,
               "unknown_rule": predictor.trust.summary() if predictor.trust.rule else None}
    return (0 if ok else 2), payload


def cmd_runs(args, events, out):
    from training.runs.manage import list_runs_labelled as list_runs
    from training.runs.listing import compare_table
    from training.runs.runfolder import default_runs_root

    root = args.dir or str(default_runs_root())
    if args.dir and not os.path.isdir(args.dir):
        raise InputError(f"Runs folder not found. Received: {args.dir!r}")
    rows = list_runs(root)
    if rows:
        for line in compare_table(rows):
            print(line, file=out)
    else:
        print(f"No runs in {root}", file=out)
    return 0, {"root": root, "runs": rows}


def cmd_export(args, events, out):
    from training.cli.export import cmd_export as run_export

    with stop_on_sigint(events):
        return run_export(args, events, out)


def cmd_next(args, events, out):
    from training.cli.active import cmd_next as run_next

    with stop_on_sigint(events):
        return run_next(args, events, out)


COMMANDS = {"inspect": cmd_inspect, "train": cmd_train, "evaluate": cmd_evaluate,
            "predict": cmd_predict, "runs": cmd_runs, "export": cmd_export, "next": cmd_next}


def _add_health_commands() -> None:
    from training.cli.health import COMMANDS as more

    COMMANDS.update(more)
    from training.cli.embedmap import COMMANDS as embedding_map

    COMMANDS.update(embedding_map)


def cmd_sort(args, events, out):
    from training.cli.sort import cmd_sort as run_sort

    return run_sort(args, events, out)


COMMANDS["sort"] = cmd_sort


_add_health_commands()
