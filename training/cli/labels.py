"""``python -m training labels``: the label overlay, and the Edit menu's file operations.

- ``--relabel/--exclude/--restore/--export``: fixes kept beside the dataset (image files
  are never changed). ``--relabel`` also labels an unlabelled (loose) image, and a class
  name the dataset does not have yet creates that class.
- ``--add-class/--rename-class/--delete-class``: classes made, renamed and deleted in the
  overlay (``training.data.classedits``): a class folder is never renamed or removed; a
  deleted class's images become unlabelled.
- ``--apply-to-folders [--yes]``: move each relabelled image into its new class's folder,
  as Edit → Apply label fixes to folders does.
- ``--undo-move [JOURNAL] [--yes]``: put them back, as Edit → Undo folder move does. A
  journal that fails a check (``training.data.move_journal``: not written here by this
  user, for another dataset, or a path that leaves the dataset) is refused with the reason:
  exit 2, ``kind: "bad_input"``, and nothing moves.

Without ``--yes`` the moves are listed and, on a terminal, asked about; otherwise nothing
moves (``"done": false`` in the JSON). Label fixes that came with the dataset (made
elsewhere) are used only with ``--accept-dataset-labels`` or an earlier "apply"
(``training.data.overlay_apply.trusted_overlay``).
"""
from __future__ import annotations

import argparse
import os
import sys

SHOWN = 5   # moves listed in the terminal before "… and N more"


def add_parser(sub, dataset_options, dataset_labels_options) -> None:
    """Register the ``labels`` sub-command on ``sub``."""
    p = sub.add_parser("labels", help="relabel, exclude or restore images (a label overlay "
                       "beside the dataset; image files are never changed), export labels, "
                       "move relabelled images into their class folders and undo that")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--relabel", nargs=2, action="append", default=[], metavar=("PATH", "CLASS"),
                   help="give PATH the class CLASS (repeatable)")
    p.add_argument("--exclude", action="append", default=[], metavar="PATH",
                   help="leave PATH out of training and evaluation (repeatable)")
    p.add_argument("--restore", action="append", default=[], metavar="PATH",
                   help="undo any fix of PATH (repeatable)")
    p.add_argument("--add-class", action="append", default=[], metavar="CLASS",
                   help="make a class with no images yet (repeatable)")
    p.add_argument("--rename-class", nargs=2, action="append", default=[], metavar=("OLD", "NEW"),
                   help="rename a class (a class folder keeps its name on disk; repeatable)")
    p.add_argument("--delete-class", action="append", default=[], metavar="CLASS",
                   help="delete a class: its images become unlabelled, no file is touched "
                   "(repeatable)")
    p.add_argument("--export", metavar="CSV", help="write the corrected labels as path,label")
    moves = p.add_mutually_exclusive_group()
    moves.add_argument("--apply-to-folders", action="store_true",
                       help="move each relabelled image into its new class's folder (a journal "
                       "makes it undoable; nothing is deleted or overwritten)")
    moves.add_argument("--undo-move", nargs="?", const="", default=None, metavar="JOURNAL",
                       help="put back the files of the newest folder move of DATA, or of "
                       "JOURNAL; only journals this app wrote for you, for this dataset, are "
                       "accepted")
    p.add_argument("--yes", action="store_true",
                   help="move the files without asking (without it the moves are listed, and "
                   "asked about on a terminal)")
    dataset_options(p)
    dataset_labels_options(p)


def cmd_labels(args, events, out):
    from training.cli.args import InputError, dataset_spec
    from training.data import open_dataset
    from training.data.overlay_apply import export_csv, overlay_info, trusted_overlay

    spec = dataset_spec(args, args.data)
    if args.undo_move is not None:
        return _undo(args, spec, out)
    raw = open_dataset(spec, events, overlay=False)
    overlay, foreign = trusted_overlay(raw.root, args.dataset_labels)
    edits = (args.relabel or args.exclude or args.restore or args.add_class
             or args.rename_class or args.delete_class)
    if edits and foreign and foreign["decision"] is None:
        raise InputError(f"{foreign_hint(foreign)} Decide before changing the fixes: your "
                         "changes are saved with the fixes in use.")
    # In this order: new classes, the images' labels, then renames and deletions (so
    # "--relabel X even --rename-class even round" gives X the class "round").
    created = _edit_classes(args, overlay, raw.classes, out, add=True)
    samples = list(raw.paths) + list(raw.unlabelled)
    known = {overlay.key(p): i for i, p in enumerate(samples)}

    def row_of(path):
        k = overlay.key(os.path.abspath(path)) if os.path.exists(path) else overlay.key(path)
        if k not in known:
            raise InputError(f"Not an image of this dataset. Received: {path!r}")
        return samples[known[k]], known[k]

    for path, label in args.relabel:
        p, i = row_of(path)
        if label not in overlay.class_names(raw.classes):
            created += _edit_classes(argparse.Namespace(add_class=[label]), overlay, raw.classes,
                                     out, add=True)
        source = raw.classes[int(raw.labels[i])] if i < len(raw.paths) else None
        # The source's class as the overlay names it now (a renamed folder), so giving an
        # image its own class back stores nothing.
        shown = overlay.classes.renamed.get(source, source) if source not in overlay.classes.deleted else None
        overlay.relabel(p, label, original=shown)
    for path in args.exclude:
        overlay.exclude(row_of(path)[0])
    for path in args.restore:
        overlay.restore(row_of(path)[0])
    _edit_classes(args, overlay, raw.classes, out, add=False)
    if edits:
        print(f"Saved {overlay.save()}", file=out)
    index = open_dataset(spec, events)
    info = dict(index.overlay or {})
    if foreign:
        print(f"note: {foreign_hint(info.get('foreign') or foreign)}", file=out)
    print(f"{len(overlay.labels)} relabelled, {len(overlay.excluded)} excluded "
          f"({info.get('path') or 'no overlay file yet'})", file=out)
    if args.export:
        n = export_csv(index, args.export)
        print(f"Wrote {n:,} labels to {args.export}", file=out)
    if index.unlabelled:
        print(f"{len(index):,} labelled images, {len(index.unlabelled):,} unlabelled; classes: "
              f"{', '.join(index.classes) or 'none yet'}", file=out)
    payload = {"overlay": overlay_info(index),
               "relabelled": dict(overlay.labels), "excluded": sorted(overlay.excluded),
               "num_samples": len(index), "labelled": len(index),
               "unlabelled": len(index.unlabelled), "classes": list(index.classes),
               "created_classes": created, "class_edits": overlay.classes.to_dict(),
               "exported": args.export}
    if args.apply_to_folders:
        payload["folder_moves"] = _apply(args, index, out)
    return 0, payload


def _edit_classes(args, overlay, source, out, add: bool) -> list[str]:
    """--add-class (``add``), or --rename-class and --delete-class, on ``overlay`` (a bad
    name: exit 2). Returns the classes made."""
    from training.cli.args import InputError
    from training.data.classedits import ClassNameError

    created = []
    try:
        for name in args.add_class if add else ():
            created.append(overlay.add_class(name, source))
            print(f"Created class {created[-1]!r}", file=out)
        for old, new in () if add else args.rename_class:
            new = overlay.rename_class(old, new, source)
            print(f"Renamed class {old!r} to {new!r} (no folder is renamed)", file=out)
        for name in () if add else args.delete_class:
            n = overlay.delete_class(name, source)
            print(f"Deleted class {name!r}: its images are unlabelled now"
                  + (f" ({n} label fix{'es' if n != 1 else ''} dropped)" if n else "")
                  + "; no file is touched", file=out)
    except ClassNameError as exc:
        raise InputError(str(exc)) from None
    return created


def foreign_hint(foreign: dict) -> str:
    """The overlay's sentence about label fixes made elsewhere, plus the CLI's way out."""
    from training.data.overlay_apply import foreign_message

    text = foreign_message(foreign)
    if foreign.get("decision") is None:
        text += " Pass --accept-dataset-labels to use them, or --ignore-dataset-labels."
    return text


def _confirm(args, question: str, out) -> bool:
    """--yes, or a "y" typed on a terminal (never asked when the output is JSON)."""
    if args.yes:
        return True
    if args.json or not sys.stdin.isatty():
        print("Nothing was moved: pass --yes to move these files.", file=out)
        return False
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _lines(pairs, root: str) -> list[str]:
    pairs = list(pairs)
    out = [f"  {os.path.relpath(a, root)}  ->  {os.path.relpath(b, root)}" for a, b in pairs[:SHOWN]]
    return out + ([f"  ... and {len(pairs) - SHOWN} more"] if len(pairs) > SHOWN else [])


def _apply(args, index, out) -> dict:
    from training.data.folder_moves import apply_moves, plan_moves

    moves = plan_moves(index)   # FolderMoveError: exit 2 with the reason
    result = {"planned": [{"src": m.src, "dst": m.dst} for m in moves], "moved": 0,
              "journal": None, "done": False}
    if not moves:
        print("No relabelled images to move (excluded images are never moved).", file=out)
        return result
    print(f"{len(moves)} image(s) move into their new class's folder:", file=out)
    for line in _lines(((m.src, m.dst) for m in moves), index.root):
        print(line, file=out)
    if not _confirm(args, f"Move {len(moves)} file(s)?", out):
        return result
    result.update(journal=apply_moves(index, moves), moved=len(moves), done=True)
    print(f"Moved {len(moves)} image(s); undo with --undo-move (journal {result['journal']}).",
          file=out)
    return result


def _undo(args, spec, out):
    from training.cli.args import InputError
    from training.data.folder_moves import (FolderMoveError, find_undo, read_journal,
                                            undo_moves)
    from training.data.overlay import dataset_folder

    root = dataset_folder(os.path.abspath(os.path.expanduser(str(spec.path))))
    if args.undo_move:
        journal = read_journal(os.path.abspath(args.undo_move), root)   # refused: exit 2
        if journal.undone:
            raise InputError(f"{journal.path} was undone already; nothing to put back.")
    else:
        journal, refused = find_undo(root)
        for _path, reason in refused:
            print(f"refused: {reason}", file=sys.stderr)
        if journal is None:
            if refused:
                raise FolderMoveError(f"No folder move of {root} can be undone: "
                                      f"{len(refused)} journal(s) were refused. {refused[0][1]}")
            raise InputError(f"No folder move of {root} to undo.")
    result = {"journal": journal.path, "planned": [{"src": m.dst, "dst": m.src}
                                                   for m in journal.moves],
              "moved": 0, "done": False}
    print(f"{len(journal.moves)} image(s) go back where they were ({journal.path}):", file=out)
    for line in _lines(((m.dst, m.src) for m in journal.moves), root):
        print(line, file=out)
    if _confirm(args, f"Put {len(journal.moves)} file(s) back?", out):
        result.update(moved=undo_moves(journal, root), done=True)
        print(f"Put {result['moved']} image(s) back.", file=out)
    return 0, {"folder_moves": result}
