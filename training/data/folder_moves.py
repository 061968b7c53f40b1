"""Apply label fixes to the class folders: move each relabelled image into its new class's
folder, with a journal that undoes every move. Never deletes or overwrites an image.

The label overlay (``training.data.overlay``) fixes labels without touching the user's
files; this is the optional next step for class-folder datasets, which the app runs only
after the person confirmed the listed moves. Steps:

1. :func:`plan_moves` lists ``src -> dst`` for every relabelled image (``<root>/[split/]
   <old class>/name`` -> ``<root>/[split/]<new class>/name``) and refuses the whole plan
   when a destination name is taken (no image is ever overwritten). Excluded images stay
   where they are (and stay excluded).
2. :func:`apply_moves` writes the journal first (signed, atomically: the plan and the
   overlay as it was), then renames the files, then drops the moved images' relabels from
   the overlay (their folder says the label now).
3. :func:`undo_moves` checks the journal (``training.data.move_journal``: signed here, for
   this dataset, every path inside it), then puts every file back, also after an
   interrupted apply (each move is checked on disk), removes class folders the apply
   created if they are empty, restores the dataset's own overlay, and marks the journal
   undone.
"""
from __future__ import annotations

import logging
import os

from training import safefiles
from training.data.move_journal import (JOURNAL_DIR, FolderMoveError, Journal, Move,
                                        check_path, find_undo, journal_folder, new_journal,
                                        read_journal)

log = logging.getLogger(__name__)

FOLDER_KINDS = ("folders", "splits")
__all__ = ["JOURNAL_DIR", "FolderMoveError", "Journal", "Move", "apply_moves", "find_undo",
           "journal_folder", "last_journal", "plan_moves", "read_journal", "undo_moves"]


def plan_moves(index) -> list[Move]:
    """The moves that make the class folders say what the overlay says (see module doc).

    Raises:
        FolderMoveError: not a class-folder dataset, an image is not inside its class's
            folder, or a destination file already exists (the names are given).
    """
    from training.data.overlay_apply import trusted_overlay

    if index.kind not in FOLDER_KINDS:
        raise FolderMoveError(f"Only class-folder datasets can be reorganised; this one is "
                              f"{index.kind!r} (its labels live in the file itself). Export the "
                              f"corrected labels as CSV instead.")
    overlay = trusted_overlay(index.root)[0]   # the fixes applied, never unaccepted ones
    original = getattr(index, "original_labels", None)
    if original is None:
        original = index.labels
    moves, taken, clashes = [], set(), []
    for row, path in enumerate(index.paths):
        key = overlay.key(path)
        label = overlay.labels.get(key)
        if label is None or label not in index.classes or key in overlay.excluded:
            continue
        if int(original[row]) < 0:   # labelled in the app with no class before: stays put
            continue
        folder = os.path.dirname(os.path.abspath(path))
        shown_old = index.classes[int(original[row])]
        old = _source_name(overlay, shown_old)
        if os.path.basename(folder) != old:
            raise FolderMoveError(f"{path}: not inside a folder named after its class {old!r}, "
                                  f"so it cannot be moved to {label!r}.")
        if label == shown_old:
            continue
        dst = os.path.join(os.path.dirname(folder), _source_name(overlay, label), os.path.basename(path))
        if os.path.lexists(dst) or dst in taken:
            clashes.append(dst)
        taken.add(dst)
        moves.append(Move(os.path.abspath(path), dst, label))
    if clashes:
        shown = ", ".join(clashes[:5]) + (f" and {len(clashes) - 5} more" if len(clashes) > 5 else "")
        raise FolderMoveError(f"{len(clashes)} image(s) would overwrite a file of the same name: "
                              f"{shown}. Rename those files first; nothing was moved.")
    return moves


def apply_moves(index, moves: list[Move]) -> str:
    """Move the files of ``moves`` (from :func:`plan_moves`); returns the journal's path.

    Raises:
        FolderMoveError: a destination appeared since planning (the files moved so far
            are put back) or a rename failed.
    """
    from training.data.overlay_apply import trusted_overlay

    overlay = trusted_overlay(index.root)[0]
    journal = new_journal(index.root, moves, overlay.to_dict())
    for m in moves:   # plan_moves made them from the index: inside the dataset, or a bug
        check_path(journal.root, m.src, "source", "the planned moves")
        check_path(journal.root, m.dst, "destination", "the planned moves")
    journal.save()   # first: an interrupted apply can always be undone
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
        journal.moves = journal.moves[:done]   # put back only what this call moved
        journal.save()
        undo_moves(journal.path, index.root)
        if isinstance(exc, FolderMoveError):
            raise
        raise FolderMoveError(f"Could not move {getattr(exc, 'filename', '') or 'a file'}: "
                              f"{exc.strerror or exc}. Every file was put back.") from None
    for m in moves:
        overlay.labels.pop(overlay.key(m.src), None)
    overlay.save()
    log.info("moved %d image(s) into their class folders (journal %s)", len(moves), journal.path)
    return journal.path


def undo_moves(journal_path: str | Journal, root: str) -> int:
    """Check the journal (``training.data.move_journal.read_journal``), then put back every
    file of it; returns how many were moved back.

    Raises:
        FolderMoveError: the journal is refused (the reason is given; nothing moves), or a
            file's original name is taken again (those files stay where they are; the
            others are put back).
    """
    from training.data.overlay import OverlayError, LabelOverlay, load_overlay

    journal = journal_path if isinstance(journal_path, Journal) else read_journal(journal_path, root)
    folder = journal.root
    back, stuck = 0, []
    for m in reversed(journal.moves):
        # Checked again just before the rename: a folder swapped for a link since the
        # journal was read cannot send a file out of the dataset.
        src = check_path(folder, m.src, "source", journal.path)
        dst = check_path(folder, m.dst, "destination", journal.path)
        if os.path.lexists(dst) and not os.path.lexists(src):
            os.makedirs(os.path.dirname(src), exist_ok=True)
            check_path(folder, src, "source", journal.path)
            os.rename(dst, src)
            back += 1
        elif os.path.lexists(dst) and os.path.lexists(src):
            stuck.append(src)
    for created in journal.created_dirs:
        try:
            if safefiles.inside(folder, created):
                os.rmdir(created)   # only if empty: never removes a file
        except OSError:
            pass
    try:   # the dataset's own overlay file, never a path named in the journal
        own = load_overlay(folder).path
    except OverlayError:
        own = None
    LabelOverlay.from_dict(journal.overlay_before, folder, own).save()
    journal.undone = not stuck
    journal.save()
    if stuck:
        raise FolderMoveError(f"{len(stuck)} file(s) could not be put back because their name is "
                              f"taken again: {', '.join(stuck[:5])}.")
    return back


def last_journal(root: str) -> str | None:
    """The newest journal of ``root`` that passes every check and was not undone, or None
    (:func:`find_undo` also says which journals were refused and why)."""
    journal, _refused = find_undo(root)
    return journal.path if journal is not None else None


def _source_name(overlay, name: str) -> str:
    """The folder name of class ``name``: a class renamed in the app keeps its folder's name."""
    for source, shown in overlay.classes.renamed.items():
        if shown == name:
            return source
    return name
