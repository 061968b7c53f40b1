"""Start-up of the compute service: claim the channel, set up logging, serve.

Run by the app (``workbench.compute``) as ``python -m training.service``; it reads
requests on stdin and answers on stdout (docs/PROTOCOL.md). Arguments are for tests and
for extending it: ``--handlers MODULE`` imports more handler modules,
``--protocol-version N`` announces another version (an old service, for the mismatch test).
The app passes ``--background``: the service runs below the window's CPU priority, as
the app's trainings do (``training.cpus.run_in_background``).
"""
from __future__ import annotations

import argparse
import importlib
import faulthandler
import logging
import os
import pkgutil
import sys

from training.exits import quick_exit
from training.logs import FORMAT
from training.service import protocol as P

log = logging.getLogger(__name__)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m training.service",
                                description="The Image Classification Workbench compute service: "
                                            "JSON requests on stdin, answers on stdout (docs/PROTOCOL.md).")
    p.add_argument("--handlers", action="append", default=[], metavar="MODULE",
                   help="import this module's handlers too (repeatable)")
    p.add_argument("--protocol-version", type=int, default=P.PROTOCOL_VERSION, help=argparse.SUPPRESS)
    p.add_argument("--background", action="store_true",
                   help="run below the starting process's CPU priority (nice 10; Windows: below normal)")
    return p.parse_args(argv)


def load_handlers(extra_modules=()) -> dict:
    """Import every module of ``training/service/handlers/`` (and ``extra_modules``, dotted
    names); returns ``{name: Handler}``."""
    from training.service import handlers
    from training.service.registry import registered

    for info in pkgutil.iter_modules(handlers.__path__):
        importlib.import_module(f"{handlers.__name__}.{info.name}")
    for name in extra_modules:
        importlib.import_module(name)
    return registered()


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from training.service.server import Server, claim_channel

    # First, before any library can print: nothing but frames may reach the pipe.
    in_fd, out_fd = claim_channel()
    # Records go to stderr, which the app points at the service's log file.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    # A crash prints every thread's stack into the service's log (the app's "Details…").
    faulthandler.enable(all_threads=True)
    if args.background:   # before TensorFlow starts its thread pools: they inherit it
        from training.cpus import run_in_background

        log.info("Compute service %d runs at niceness %s", os.getpid(), run_in_background())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    registry = load_handlers(args.handlers)
    log.info("Compute service %d up: protocol %d, %d request types", os.getpid(),
             args.protocol_version, len(registry))
    code = Server(registry, in_fd, out_fd, version=args.protocol_version).serve()
    log.info("Compute service %d stopping", os.getpid())
    # Daemon lanes may still be inside TensorFlow: leave without waiting for them.
    quick_exit(code)
