"""What every ``python -m training`` command that reads a dataset shares: the bad-input
error (exit code 2) and the dataset options. Apart from ``training.cli.main`` so the command
modules it registers (``cli_health``…) can use them without importing it back."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from training.data.spec import KINDS


class InputError(ValueError):
    """Bad command-line input (exit code 2)."""


def dataset_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("dataset options")
    g.add_argument("--images", metavar="DIR", help="CSV only: folder holding the images")
    g.add_argument("--id-column", help="CSV only: column with image ids or paths")
    g.add_argument("--label-column", help="CSV only: column with labels")
    g.add_argument("--val-fraction", type=float, default=0.1, help="validation share (default 0.1)")
    g.add_argument("--test-fraction", type=float, default=0.1, help="test share (default 0.1)")
    g.add_argument("--seed", type=int, default=42, help="split and training seed (default 42)")
    g.add_argument("--kind", default="auto", choices=KINDS)


def dataset_labels_options(p: argparse.ArgumentParser) -> None:
    """What to do with label fixes that came with the dataset (made elsewhere): without
    either flag they are used only if the user accepted them before (issue 25)."""
    g = p.add_argument_group("label fixes that come with the dataset").add_mutually_exclusive_group()
    g.add_argument("--accept-dataset-labels", dest="dataset_labels", action="store_const",
                   const="apply", help="use label fixes the dataset carries that were made "
                   "elsewhere (remembered for this dataset, as the app's question is)")
    g.add_argument("--ignore-dataset-labels", dest="dataset_labels", action="store_const",
                   const="ignore", help="use the dataset's own labels and say so (remembered)")


def dataset_spec(args, path):
    from training.data import DatasetSpec

    if path is None:
        raise InputError("DATA is required")
    if not os.path.exists(path):
        raise InputError(f"Dataset path does not exist. Received: {path!r}")
    return DatasetSpec(path=path, kind=args.kind, images_dir=args.images, id_column=args.id_column,
                       label_column=args.label_column, val_fraction=args.val_fraction,
                       test_fraction=args.test_fraction, seed=args.seed)


class stop_on_sigint:  # lower case: used like a function, in a with statement
    """First Ctrl-C asks the job to stop cleanly (the run is saved); a second one aborts."""

    def __init__(self, events):
        self.events, self.previous = events, None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.events.should_stop():
            raise KeyboardInterrupt
        self.events.stop()
        print("\nStopping after the current batch (Ctrl-C again to abort)…", file=sys.stderr)

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False
