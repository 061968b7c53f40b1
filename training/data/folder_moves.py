"""Apply label fixes to the class folders: move each relabelled image into its new class's
folder, with a journal that undoes every move. Never deletes or overwrites an image.

The label overlay (``training.data.overlay``) fixes labels without touching the user's
files; this is the optional next step for class-folder datasets, which the app runs only
after the person confirmed the listed moves. Steps:

1. :func:`plan_moves` lists ``src -> dst`` for every relabelled image (``<root>/[split/]
   <old class>/name`` -> ``<root>/[split/]<new class>/name``) and refuses the whole plan
   when a destination name is taken (no image is ever overwritten). Excluded images stay
   where they are (and stay excluded).
2. :func:`apply_moves` writes the journal first (atomically: the plan and the overlay as it
   was), then renames the files, then drops the moved images' relabels from the overlay
   (their folder says the label now).
3. :func:`undo_moves` puts every file back, also after an interrupted apply (each move is
   checked on disk), removes class folders the apply created if they are empty, restores
   the overlay, and marks the journal undone.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass

from training.jsonfiles import check_schema, write_json

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
JOURNAL_DIR = "moves"           # under the overlay's folder: <dataset>/.workbench/moves/
FOLDER_KINDS = ("folders", "splits")


class FolderMoveError(ValueError):
    """The moves cannot be planned, applied or undone; the message says which file and why."""


@dataclass(frozen=True)
class Move:
    src: str
    dst: str
    label: str   # the class the image moves to


def plan_moves(index) -> list[Move]:
    """The moves that make the class folders say what the overlay says (see module doc).

    Raises:
        FolderMoveError: not a class-folder dataset, an image is not inside its class's
            folder, or a destination file already exists (the names are given).
    """
    from training.data.overlay import load_overlay

    if index.kind not in FOLDER_KINDS:
        raise FolderMoveError(f"Only class-folder datasets can be reorganised; this one is "
                              f"{index.kind!r} (its labels live in the file itself). Export the "
                              f"corrected labels as CSV instead.")
    overlay = load_overlay(index.root)
    original = getattr(index, "original_labels", None)
    if original is None:
        original = index.labels
    moves, taken, clashes = [], set(), []
    for row, path in enumerate(index.paths):
        key = overlay.key(path)
        label = overlay.labels.get(key)
        if label is None or label not in index.classes or key in overlay.excluded:
            continue
        folder = os.path.dirname(os.path.abspath(path))
        old = index.classes[int(original[row])]
        if os.path.basename(folder) != old:
            raise FolderMoveError(f"{path}: not inside a folder named after its class {old!r}, "
                                  f"so it cannot be moved to {label!r}.")
        if label == old:
            continue
        dst = os.path.join(os.path.dirname(folder), label, os.path.basename(path))
        if os.path.lexists(dst) or dst in taken:
            clashes.append(dst)
        taken.add(dst)
        moves.append(Move(os.path.abspath(path), dst, label))
    if clashes:
        shown = ", ".join(clashes[:5]) + (f" and {len(clashes) - 5} more" if len(clashes) > 5 else "")
        raise FolderMoveError(f"{len(clashes)} image(s) would overwrite a file of the same name: "
                              f"{shown}. Rename those files first; nothing was moved.")
    return moves


def journal_folder(root: str) -> str:
    """Where the journals of ``root`` are kept: beside its label overlay (the dataset's
    ``.workbench/`` folder, or the app data folder when the dataset is read-only)."""
    from training.data.overlay import beside_path, dataset_folder, fallback_path, load_overlay

    base = load_overlay(root).path
    if base is None:
        base = beside_path(root) if os.access(dataset_folder(root), os.W_OK) else fallback_path(root)
    return os.path.join(os.path.dirname(base), JOURNAL_DIR)


def _write_json(path: str, data: dict) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_json(path, data)


def apply_moves(index, moves: list[Move]) -> str:
    """Move the files of ``moves`` (from :func:`plan_moves`); returns the journal's path.

    Raises:
        FolderMoveError: a destination appeared since planning (the files moved so far
            are put back) or a rename failed.
    """
    from training.data.overlay import load_overlay

    overlay = load_overlay(index.root)
    journal = {"schema_version": SCHEMA_VERSION, "root": os.path.abspath(index.root),
               "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "undone": False,
               "overlay_before": overlay.to_dict(), "overlay_path": overlay.path,
               "created_dirs": sorted({os.path.dirname(m.dst) for m in moves
                                       if not os.path.isdir(os.path.dirname(m.dst))}),
               "moves": [{"src": m.src, "dst": m.dst, "label": m.label} for m in moves]}
    path = os.path.join(journal_folder(index.root), time.strftime("%Y%m%d-%H%M%S")
                        + f"-{os.getpid()}.json")
    _write_json(path, journal)   # first: an interrupted apply can always be undone
    done = 0
    try:
        for m in moves:
            if os.path.lexists(m.dst):
                raise FolderMoveError(f"{m.dst} appeared while moving; nothing is overwritten.")
            os.makedirs(os.path.dirname(m.dst), exist_ok=True)
            os.rename(m.src, m.dst)
            done += 1
    except (OSError, FolderMoveError) as exc:
        log.exception("moving images into their class folders failed; undoing")
        journal["moves"] = journal["moves"][:done]   # put back only what this call moved
        _write_json(path, journal)
        undo_moves(path)
        if isinstance(exc, FolderMoveError):
            raise
        raise FolderMoveError(f"Could not move {getattr(exc, 'filename', '') or 'a file'}: "
                              f"{exc.strerror or exc}. Every file was put back.") from None
    for m in moves:
        overlay.labels.pop(overlay.key(m.src), None)
    overlay.save()
    log.info("moved %d image(s) into their class folders (journal %s)", len(moves), path)
    return path


def undo_moves(journal_path: str) -> int:
    """Put back every file of a journal; returns how many were moved back.

    Raises:
        FolderMoveError: the journal cannot be read, or a file's original name is taken
            again (those files stay where they are; the others are put back).
    """
    from training.data.overlay import LabelOverlay

    try:
        with open(journal_path, encoding="utf-8") as f:
            journal = json.load(f)
        check_schema(journal, "move journal", SCHEMA_VERSION, where=journal_path,
                     error=FolderMoveError, required=False)
        moves = [(m["src"], m["dst"]) for m in journal["moves"]]
    except FolderMoveError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FolderMoveError(f"{journal_path}: cannot read the move journal ({exc}).") from None
    back, stuck = 0, []
    for src, dst in reversed(moves):
        if os.path.lexists(dst) and not os.path.lexists(src):
            os.makedirs(os.path.dirname(src), exist_ok=True)
            os.rename(dst, src)
            back += 1
        elif os.path.lexists(dst) and os.path.lexists(src):
            stuck.append(src)
    for folder in journal.get("created_dirs") or []:
        try:
            os.rmdir(folder)   # only if empty: never removes a file
        except OSError:
            pass
    root = journal.get("root") or ""
    overlay = LabelOverlay.from_dict(journal.get("overlay_before") or {}, root, journal.get("overlay_path"))
    overlay.save()
    journal["undone"] = not stuck
    _write_json(journal_path, journal)
    if stuck:
        raise FolderMoveError(f"{len(stuck)} file(s) could not be put back because their name is "
                              f"taken again: {', '.join(stuck[:5])}.")
    return back


def last_journal(root: str) -> str | None:
    """The newest journal of ``root`` that was not undone, or None."""
    folder = journal_folder(root)
    try:
        names = sorted((n for n in os.listdir(folder) if n.endswith(".json")), reverse=True)
    except OSError:
        return None
    for name in names:
        path = os.path.join(folder, name)
        try:
            with open(path, encoding="utf-8") as f:
                if not json.load(f).get("undone"):
                    return path
        except (OSError, ValueError):
            continue
    return None
