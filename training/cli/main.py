"""``python -m training``: inspect, train, evaluate, predict and list runs from a terminal.

Exit codes: 0 success, 2 bad input (dataset, spec, run folder, arguments, files),
1 internal error. With ``--json`` the last line on stdout is one JSON object and all
human-readable output goes to stderr; on any error (unparseable arguments included) that
object is ``{"error": message, "kind": "bad_input" | "internal"}``. ``predict --json``
prints ``{"run_dir", "classes", "predictions": [{"path", "top_k": [[class, p], …],
"error"}], "num_classified", "num_failed"}``.

This module runs one parsed command and turns its result or error into the exit code and
the JSON line; the parser is ``training.cli.parser``, the commands ``training.cli.train``,
``training.cli.commands`` and the other modules of this package.
"""
from __future__ import annotations

import json
import logging
import sys
import traceback

from training.cli.args import InputError, stop_on_sigint
from training.cli.commands import cmd_evaluate, cmd_inspect, cmd_predict, cmd_runs
from training.cli.parser import MODELS, ArgumentError, build_parser
from training.cli.progress import TerminalEvents
from training.cli.stream import end as stream_end
from training.cli.stream import watch_stdin
from training.exits import quick_exit
from training.cli.train import cmd_train
from training.logs import FILE_ONLY, setup_logging

log = logging.getLogger(__name__)

# What callers import from here since the parser moved out (training.cli.parser).
__all__ = ["MODELS", "ArgumentError", "InputError", "build_parser", "main"]


def _bad_input_types() -> tuple:
    from training.service.errors import bad_input_types

    return (InputError, *bad_input_types())


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
