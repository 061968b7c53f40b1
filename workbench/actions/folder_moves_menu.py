"""Edit → "Apply label fixes to folders…" and "Undo folder move…" (issue 13, optional part).

The core (``training.data.folder_moves``) plans the moves and keeps an undo journal; here the
person sees what would move and confirms first, then the dataset is reopened so every
panel shows the new paths. Nothing is moved without the confirmation, nothing is deleted.
The renames run on the GUI thread: a rename is a directory-entry change (~0.05 ms), so a
few hundred relabelled images stay well under a frame.
"""
from __future__ import annotations

import logging
import os

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

log = logging.getLogger(__name__)

MOVE_BUTTON = "Move files"
UNDO_BUTTON = "Put files back"
SHOWN_MOVES = 20     # in the confirmation's details
SHOWN_IN_TEXT = 5    # in its text, so the first few moves are seen without a click


def add_folder_actions(window, state, menu) -> dict:
    """Add the two actions to ``menu``; returns them by name."""
    acts = {}
    for name, text, slot in (("apply_folders", "Apply label fixes to folders…", apply_to_folders),
                             ("undo_folders", "Undo folder move…", undo_folder_move)):
        act = QAction(text, window)
        act.triggered.connect(lambda _=False, fn=slot: fn(window, state))
        menu.addAction(act)
        acts[name] = act
    acts["apply_folders"].setToolTip("Move each relabelled image into its new class's folder "
                                     "(asks first; Undo folder move puts them back)")
    return acts


def _say(state, text: str) -> None:
    state.statusMessage.emit(text)   # the window's status bar


def _ask(window, title: str, text: str, details: str, button: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=window)
    box.setDetailedText(details)
    yes = box.addButton(button, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is yes


def _reopen(state) -> None:
    if state.dataset_spec is not None:
        state.datasetOpenRequested.emit(state.dataset_spec)   # the Dataset panel opens it


def apply_to_folders(window, state) -> bool:
    """Plan, confirm and apply the moves of the current dataset; True when files moved."""
    from training.data.folder_moves import FolderMoveError, apply_moves, plan_moves
    from workbench.workers.overlay_writer import flush

    flush()   # the moves read and rewrite the label overlay file
    index = state.dataset
    if index is None:
        _say(state, "Open a dataset first.")
        return False
    try:
        moves = plan_moves(index)
    except FolderMoveError as exc:
        QMessageBox.warning(window, "Apply label fixes to folders", str(exc))
        return False
    if not moves:
        QMessageBox.information(window, "Apply label fixes to folders",
                                "No relabelled images to move: relabel images first (right-click "
                                "or 1-9 in a gallery). Excluded images are never moved.")
        return False
    root = index.root

    def lines(shown: int) -> list[str]:
        out = [f"{os.path.relpath(m.src, root)}  →  {os.path.relpath(m.dst, root)}"
               for m in moves[:shown]]
        return out + ([f"… and {len(moves) - shown} more"] if len(moves) > shown else [])

    if not _ask(window, "Apply label fixes to folders",
                f"Move {len(moves)} image{'s' if len(moves) != 1 else ''} into the folder of "
                f"{'their' if len(moves) != 1 else 'its'} new class in {root}?\n\n"
                + "\n".join(lines(SHOWN_IN_TEXT)) + "\n\nNo file is deleted or overwritten; "
                "Edit → Undo folder move puts them back.",
                "\n".join(lines(SHOWN_MOVES)), MOVE_BUTTON):
        return False
    try:
        journal = apply_moves(index, moves)
    except FolderMoveError as exc:
        QMessageBox.warning(window, "Apply label fixes to folders", str(exc))
        _reopen(state)
        return False
    log.info("applied %d label fixes to folders (journal %s)", len(moves), journal)
    _say(state, f"Moved {len(moves)} image(s) into their class folders. Edit → Undo folder move "
                 "puts them back.")
    _reopen(state)
    return True


def undo_folder_move(window, state) -> bool:
    """Confirm, then put back the files of the newest folder move of the current dataset.

    Only a journal that passes every check is offered (``training.data.move_journal``:
    written here by this user, for this dataset, every path inside it); the others are
    named with the reason they were refused, and nothing moves for them.
    """
    from training.data.folder_moves import FolderMoveError, find_undo, undo_moves
    from training.data.move_journal import describe
    from workbench.workers.overlay_writer import flush

    flush()   # the undo rewrites the label overlay file
    index = state.dataset
    journal, refused = find_undo(index.root) if index is not None else (None, [])
    if journal is None:
        text = "No folder move of this dataset to undo."
        if refused:
            text += "\n\n" + refused_text(refused)
            QMessageBox.warning(window, "Undo folder move", text)
        else:
            QMessageBox.information(window, "Undo folder move", text)
        return False
    n = len(journal.moves)
    text = (f"Put {n} moved image{'s' if n != 1 else ''} back where "
            f"{'they were' if n != 1 else 'it was'} in {journal.root}, with the label fixes as "
            f"they were before the move?\n\n" + "\n".join(describe(journal))
            + (f"\n\n{refused_text(refused)}" if refused else ""))
    details = "\n".join(describe(journal, shown=SHOWN_MOVES)) + f"\n\nJournal: {journal.path}"
    if not _ask(window, "Undo folder move", text, details, UNDO_BUTTON):
        return False
    try:
        n = undo_moves(journal, index.root)
    except FolderMoveError as exc:
        QMessageBox.warning(window, "Undo folder move", str(exc))
        _reopen(state)
        return False
    _say(state, f"Put {n} image(s) back.")
    _reopen(state)
    return True


def refused_text(refused: list[tuple[str, str]], shown: int = 3) -> str:
    """What the user is told about journals that were refused (never offered for undo)."""
    lines = [f"{len(refused)} move journal{'s' if len(refused) != 1 else ''} in this dataset "
             f"{'were' if len(refused) != 1 else 'was'} refused and will never be undone:"]
    lines += [f"• {reason}" for _path, reason in refused[:shown]]
    if len(refused) > shown:
        lines.append(f"… and {len(refused) - shown} more")
    return "\n".join(lines)
