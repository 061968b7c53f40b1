"""``python -m training sort RUN SRC DEST [--move]`` and ``sort --undo JOURNAL``.

Sorts the photos under SRC into ``DEST/<class>/`` (``DEST/unknown/`` for what the run's
unknown rule answers) with ``training.sorting``: the counts per class come first, then the
files are copied (``--move`` moves them), never overwriting (a taken name gets `` (2)``),
with a journal written before any change; ``--undo JOURNAL`` deletes the copies that are
still the sort's, or puts moved photos back.

Asking first, as ``labels --apply-to-folders`` does: without ``--yes`` the plan is printed
and, on a terminal, asked about; with ``--json`` or without a terminal nothing is copied
(``"done": false``), so a script passes ``--yes``. ``--dry-run`` prints the plan only.
Exit codes: 0 done (or planned), 2 bad input (a missing folder, a read-only source with
``--move``, a full disk, a refused journal), 1 internal error.
"""
from __future__ import annotations

import os
import sys

SHOWN_BAD = 10   # unreadable files listed in the terminal before "… and N more"


def add_parser(sub) -> None:
    """Register the ``sort`` sub-command on ``sub``."""
    from training.runs.runfolder import MODEL_CHOICES

    p = sub.add_parser(
        "sort", help="sort a folder of photos into class folders with a run's model (copies "
        "by default; a journal makes it undoable)",
        description="Classify every photo under SRC and copy it into DEST/<class>/ "
        "(DEST/unknown/ for photos the model is not sure of). The counts per class are shown "
        "first and asked about on a terminal; pass --yes to sort without asking (needed with "
        "--json or without a terminal, where nothing is copied otherwise). Names are never "
        "overwritten: a taken name gets ' (2)'. Undo with --undo JOURNAL.")
    p.add_argument("run_dir", metavar="RUN", nargs="?", help="a run folder or an exported model")
    p.add_argument("source", metavar="SRC", nargs="?", help="the folder of photos (sub-folders "
                   "too); it may be read-only unless --move")
    p.add_argument("dest", metavar="DEST", nargs="?", help="where the class folders are made")
    p.add_argument("--move", action="store_true", help="move the photos instead of copying them")
    p.add_argument("--yes", action="store_true", help="sort (or undo) without asking")
    p.add_argument("--dry-run", action="store_true", help="print the plan only; change nothing")
    p.add_argument("--which", choices=MODEL_CHOICES, default=MODEL_CHOICES[0])
    p.add_argument("--coverage", type=float, metavar="C",
                   help="share of the validation images to answer (0-1]; lower sends more "
                   "photos to unknown/ (default: the run's)")
    p.add_argument("--undo", metavar="JOURNAL",
                   help="undo the sort of JOURNAL (printed by the sort): delete its copies "
                   "(only files still as copied) or move its photos back")


def cmd_sort(args, events, out):
    from training.cli.args import InputError, stop_on_sigint

    if args.undo:
        if args.run_dir or args.move or args.dry_run:
            raise InputError("--undo JOURNAL takes no RUN, SRC, DEST, --move or --dry-run.")
        with stop_on_sigint(events):
            return _undo(args, events, out)
    if not (args.run_dir and args.source and args.dest):
        raise InputError("sort needs RUN SRC DEST (or --undo JOURNAL). Received: "
                         + " ".join(str(a) for a in (args.run_dir, args.source, args.dest) if a))
    if args.coverage is not None and not 0.0 < args.coverage <= 1.0:
        raise InputError(f"--coverage must be more than 0 and at most 1. Received: {args.coverage}")
    from training.export.predictor import open_predictor
    from training.sorting import SortError, apply_sort, plan_sort, undo_command
    from training.sorting.apply import source_refusal

    if not os.path.exists(args.run_dir):
        raise InputError(f"Run folder not found. Received: {args.run_dir!r}")
    predictor = open_predictor(args.run_dir, which=args.which)
    predictor.coverage = args.coverage
    with stop_on_sigint(events):
        plan = plan_sort(predictor, args.source, args.dest, events)
    events.finish_line()
    verb = "move" if args.move else "copy"
    payload = {"plan": _plan_summary(plan), "operation": verb, "done": False, "result": None}
    _print_plan(plan, verb, out)
    if not plan.items:
        raise SortError(f"None of the {len(plan.unreadable)} image file(s) in {plan.source} "
                        "could be read; nothing to sort.")
    if args.move and (why := source_refusal(plan)):
        raise SortError(why)
    if args.dry_run or not _confirm(args, f"{verb.capitalize()} {len(plan.items):,} photo(s)?",
                                    out):
        return 0, payload
    with stop_on_sigint(events):
        result = apply_sort(plan, move=args.move, events=events)
    events.finish_line()
    payload.update(done=True, result=result)
    print(f"{'Moved' if args.move else 'Copied'} {result['done']:,} photo(s) into {plan.dest}.",
          file=out)
    for f in result["failed"]:
        print(f"  not sorted: {f['path']}: {f['reason']}", file=out)
    print(f"Undo: {undo_command(result['journal'])}", file=out)
    return 0, payload


def _plan_summary(plan) -> dict:
    data = plan.to_dict()
    data.pop("items")
    data["num_photos"] = len(plan.items)
    return data


def _print_plan(plan, verb: str, out) -> None:
    counts = plan.counts()
    width = max(len(f) for f in counts)
    print(f"{len(plan.items):,} photo(s) in {plan.source} would be {verb}{'d' if verb == 'move' else 'ied'} "
          f"into {plan.dest}:", file=out)
    for folder, n in counts.items():
        print(f"  {folder.ljust(width)}  {n:>7,}", file=out)
    if plan.unreadable:
        print(f"{len(plan.unreadable)} file(s) could not be read and stay where they are:",
              file=out)
        for b in plan.unreadable[:SHOWN_BAD]:
            print(f"  {b['path']}: {b['reason']}", file=out)
        if len(plan.unreadable) > SHOWN_BAD:
            print(f"  ... and {len(plan.unreadable) - SHOWN_BAD} more (all in the JSON output)",
                  file=out)
    if plan.skipped:
        print(f"{len(plan.skipped)} other file(s) are not images and stay where they are.",
              file=out)


def _confirm(args, question: str, out, what: str = "sort these photos") -> bool:
    """--yes, or a "y" typed on a terminal (never asked when the output is JSON)."""
    if args.yes:
        return True
    if args.json or not sys.stdin.isatty():
        print(f"Nothing was changed: pass --yes to {what}.", file=out)
        return False
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _undo(args, events, out):
    from training.sorting import SortError, undo_sort
    from training.data.move_journal import FolderMoveError
    from training.data.sort_journal import read_sort_journal

    path = os.path.abspath(args.undo)
    try:
        journal = read_sort_journal(path)
    except FolderMoveError as exc:
        raise SortError(str(exc)) from None
    what = "deleted (only copies still as the sort made them)" if journal.operation == "copy" \
        else "moved back"
    payload = {"journal": path, "operation": journal.operation, "done": False, "result": None}
    print(f"Undo the sort of {journal.source} into {journal.root}: {len(journal.moves):,} "
          f"photo(s) {what}.", file=out)
    if not _confirm(args, "Undo this sort?", out, "undo it"):
        return 0, payload
    result = undo_sort(path, events)
    events.finish_line()
    payload.update(done=True, result=result)
    print(f"{'Deleted' if journal.operation == 'copy' else 'Moved back'} {result['restored']:,} "
          f"photo(s).", file=out)
    for k in result["kept"]:
        print(f"  kept: {k['path']}: {k['reason']}", file=out)
    return 0, payload
