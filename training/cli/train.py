"""``python -m training train``: the model spec and training settings from the command line,
the device report for a supervising program, and the command itself.

Apart from the report commands (``training.cli.commands``) because turning options into a
``ModelSpec`` and a ``TrainConfig`` is train's alone and the largest piece of it.
"""
from __future__ import annotations

import os
import sys

from training.cli.args import InputError, stop_on_sigint
from training.cli.commands import foreign_labels, open_index, print_bad_files
from training.cli.parser import TRAIN_DEFAULTS


def parse_size(text):
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


def model_spec(args, index, events):
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
    size, color = parse_size(args.image_size), args.color
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


def train_config(args, index=None, events=None):
    from training.recipe.config import TrainConfig, parse_class_weight

    if args.config:
        return config_file(args.config)
    if args.epochs is None:  # no --epochs: a budget from the dataset's size
        from training.recipe.epoch_budget import default_epochs, epochs_reason

        n = int(sum((index.counts().get("train") or {}).values())) if index is not None else 0
        args.epochs = default_epochs(n, args.batch_size) if n else TRAIN_DEFAULTS.epochs
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


def config_file(path):
    from training.recipe.config import TrainConfig
    from training.runs.runfolder import RunError, read_json

    try:
        return TrainConfig.from_dict(read_json(path))
    except (RunError, ValueError) as exc:   # name the file when the message doesn't
        text = str(exc)
        raise InputError(text if str(path) in text else f"{path}: {text}") from None


def report_device(args, events, config=None) -> None:
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
        report_device(args, events)
        with stop_on_sigint(events):
            summary = resume(args.resume, events=events, devices=args.devices,
                             multi_worker=args.strategy == "multi-worker")
    else:
        index = open_index(args, args.data, events)
        foreign = foreign_labels(index, out)
        spec = model_spec(args, index, events)
        if args.flip_tta:  # also for --spec: a setting of this run, like the others
            spec.augmentation.test_time_flip = True
        config = train_config(args, index, events)
        report_device(args, events, config)
        with stop_on_sigint(events):
            summary = train(index, spec, config, events, run_dir=args.out)
    result = summary.to_dict()
    result["network_warnings"], result["foreign_labels"] = warnings, foreign
    events.finish_line()
    if not args.resume:
        # Indexing and decoding both add to index.bad_files: report every skipped item once.
        result["bad_files"] = [b.to_dict() for b in index.bad_files]
        print_bad_files(result["bad_files"], out)
    print(f"Run {result['status']}: {result['run_dir']}", file=out)
    if result["test_accuracy"] is not None:
        print(f"Test accuracy {result['test_accuracy']:.4f}, loss {result['test_loss']:.4f}", file=out)
    return 0, result

