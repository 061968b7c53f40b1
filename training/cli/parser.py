"""The argument parser of ``python -m training``: every sub-command and its options.

Apart from ``training.cli.main`` (which runs a parsed command) because the option list is
the longest single part of the CLI and changes on its own, each time a setting is added;
the command modules that register their own sub-commands (``health``, ``export``…) are
called from here.
"""
from __future__ import annotations

import argparse
import sys

from training.cli.args import dataset_labels_options, dataset_options
from training.models.spec import COLOR_MODES
from training.models.templates import TEMPLATES
from training.recipe.config import LR_SCHEDULES, OPTIMIZERS, TrainConfig
from training.runs.runfolder import MODEL_CHOICES

MODELS = tuple(TEMPLATES)   # the core's template names, in its order
TRAIN_DEFAULTS = TrainConfig()  # one owner of the defaults: the CLI shows the same ones


class ArgumentError(Exception):
    """An argparse error, raised instead of exiting so ``--json`` can report it as JSON."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's default prints usage and exits 2
        self.print_usage(sys.stderr)
        raise ArgumentError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m training",
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
                   f"seen, {TRAIN_DEFAULTS.epochs} at most; see training/recipe/epoch_budget.py)")
    p.add_argument("--image-size", metavar="N|HxW", help="input size (default: from the data for "
                   "mlp/cnn, the backbone's size for transfer models)")
    p.add_argument("--color", choices=COLOR_MODES)
    p.add_argument("--batch-size", type=int, default=TRAIN_DEFAULTS.batch_size)
    p.add_argument("--lr", type=float, default=TRAIN_DEFAULTS.learning_rate, help="learning rate")
    p.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default=TRAIN_DEFAULTS.optimizer)
    p.add_argument("--patience", type=int, default=TRAIN_DEFAULTS.patience)
    p.add_argument("--lr-schedule", choices=tuple(LR_SCHEDULES), default=TRAIN_DEFAULTS.lr_schedule,
                   help="; ".join(f"{name}{' (default)' if name == TRAIN_DEFAULTS.lr_schedule else ''}: "
                                  f"{what}" for name, what in LR_SCHEDULES.items()))
    p.add_argument("--no-early-stopping", action="store_true")
    p.add_argument("--ema-epochs", type=float, default=TRAIN_DEFAULTS.ema_epochs, metavar="E",
                   help="validate and keep a moving average of the weights over about E epochs "
                        "(default 0: off; docs/BENCHMARKS.md 8c measured no gain)")
    p.add_argument("--fine-tune-epochs", type=int, default=TRAIN_DEFAULTS.fine_tune_epochs)
    p.add_argument("--fine-tune-from", type=int, help="backbone layer index to unfreeze from")
    p.add_argument("--fine-tune-lr", type=float, default=TRAIN_DEFAULTS.fine_tune_lr)
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
