"""Relabel, exclude and restore images from any gallery, with undo and redo.

:class:`LabelFixes` (one per window, ``fixes_for(state)``) owns the current dataset's
:class:`~training.data.overlay.LabelOverlay` and a ``QUndoStack``: every change is a
``QUndoCommand`` holding each image's overlay state before and after, so undo/redo replay
exact states. The overlay file is rewritten (atomically) after every change; the image
files are never touched. The in-memory dataset gets relabels at once (training from the
app then uses them); exclusions take effect when the dataset is next opened, so training
after an exclusion reopens the dataset (``dataset_for_training``).

``workbench.actions.fix_menu`` gives a view the right-click actions (Relabel as ▸ class,
Exclude, Restore, Undo, Redo) and the keys: a digit relabels to the class it stands for
(:func:`class_keys`: the class named by that digit when there is one, otherwise by
position, as the menu shows), Delete excludes, R restores, and Enter accepts a suggested
class where the view has one (Data health's likely label errors).
"""
from __future__ import annotations

import logging
import weakref
import os

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QUndoCommand, QUndoStack

from workbench.actions import shortcuts

log = logging.getLogger(__name__)


DIGIT_KEYS = "1234567890"   # the order free keys are handed out in


def class_keys(classes) -> dict[str, str]:
    """``{digit: class}``: which key relabels to which class.

    A class named by a digit ("0" … "9", the usual case for digits datasets) gets that
    digit, so on "labelled 3, looks like 6" pressing 6 means class "6", never the 6th
    class. The other classes get the digits left over, in order 1-9 then 0, so a class
    list without digit names keeps keys 1-9 by position. Classes past the tenth get no
    key (the right-click menu still lists them).
    """
    names = [str(c) for c in classes]
    keys = {n: n for n in names if len(n) == 1 and n.isdigit()}
    free = (d for d in DIGIT_KEYS if d not in keys)
    for n in names:
        if n in keys.values():
            continue
        d = next(free, None)
        if d is None:
            break
        keys[d] = n
    return keys


def key_for(classes, cls: str) -> str | None:
    """The digit key that relabels to ``cls`` (see :func:`class_keys`), or None."""
    return next((k for k, c in class_keys(classes).items() if c == cls), None)


class _FixCommand(QUndoCommand):
    def __init__(self, fixes: LabelFixes, paths: list[str], before: list, after: list, text: str):
        super().__init__(text)
        self.fixes, self.paths, self.before, self.after = fixes, paths, before, after

    def redo(self) -> None:
        self.fixes._set_states(self.paths, self.after)

    def undo(self) -> None:
        self.fixes._set_states(self.paths, self.before)


class LabelFixes(QObject):
    """The label overlay of ``state.dataset`` plus its undo history.

    Signals:
        changed(): after every change, undo and redo (the overlay was saved).
        failed(str): the overlay could not be read or saved (the message says why).
        reopenRequested(): a class edit (or its undo) renumbered the classes: the dataset
            panel reopens the dataset; the undo history survives that reopen.
    """

    changed = Signal()
    failed = Signal(str)
    reopenRequested = Signal()

    def __init__(self, state, parent=None):
        super().__init__(parent or state)
        self.state = state
        self.stack = QUndoStack(self)
        self.overlay = None
        # Label fixes that came with the dataset (made elsewhere): training.data.overlay's
        # trusted_overlay info, None when there are none. Not in self.overlay until accepted.
        self.foreign: dict | None = None
        self._rows: dict[str, int] = {}
        self.needs_reopen = False   # an exclusion or restore changed which images exist
        # The images the last change touched (None: all may have changed), so views
        # repaint those alone on ``changed``.
        self.last_changed: list[str] | None = None
        self._keep_history_for: str | None = None   # the dataset a reopen keeps it for
        state.datasetChanged.connect(self._on_dataset)
        self._on_dataset()

    # -- queries ---------------------------------------------------------------------
    @property
    def classes(self) -> list[str]:
        index = self.state.dataset
        return list(index.classes) if index is not None else []

    def count(self) -> int:
        """Images with a fix (class edits are not counted: they fix no image)."""
        ov = self.overlay
        return len(set(ov.labels) | ov.excluded) if ov is not None else 0

    def status(self, path: str) -> str:
        """``""``, ``"relabelled to X"`` or ``"excluded"`` for one image."""
        # Asked several times per painted grid item: no fixes (the usual case) must cost
        # no path arithmetic or file-system call.
        if self.overlay is None or not (self.overlay.labels or self.overlay.excluded):
            return ""
        label, excluded = self.overlay.state(path)
        return "excluded" if excluded else (f"relabelled to {label}" if label else "")

    def mark(self, path: str) -> str:
        """A short caption mark: ``"→ Coat"``, ``"excluded"`` or ``""``."""
        # Asked several times per painted grid item: no fixes (the usual case) must cost
        # no path arithmetic or file-system call.
        if self.overlay is None or not (self.overlay.labels or self.overlay.excluded):
            return ""
        label, excluded = self.overlay.state(path)
        return "excluded" if excluded else (f"→ {label}" if label else "")

    def label_of(self, path: str) -> str | None:
        """The class the app now gives ``path`` (overlay applied), or None if unknown."""
        index = self.state.dataset
        row = self._rows.get(path)
        if index is None or row is None:
            return None
        return index.classes[int(index.labels[row])]

    def answer_foreign(self, answer: str) -> None:
        """Remember the user's ``"apply"`` or ``"ignore"`` for the label fixes that came
        with the dataset (``training.data.provenance``); the caller reopens the dataset
        after "apply" so they take effect."""
        from training.data.provenance import remember_answer

        if self.foreign is None or self.state.dataset is None:
            return
        remember_answer(self.state.dataset.root, self.foreign["digest"], answer)
        self.foreign = {**self.foreign, "decision": answer}
        self.changed.emit()

    # -- edits -----------------------------------------------------------------------
    def relabel(self, paths: list[str], label: str) -> None:
        self._push(paths, lambda p, st: (None if label == self._original(p) else label, False),
                   f"Relabel {self._what(paths)} as {label}")

    def accept_suggestions(self, suggested: dict[str, str]) -> None:
        """Relabel each image to its own suggested class (``{path: class}``), one undo step."""
        paths = [p for p, c in suggested.items() if c in self.classes]
        if not paths:
            return
        what = (f"as {suggested[paths[0]]}" if len({suggested[p] for p in paths}) == 1
                else "as suggested")
        self._push(paths, lambda p, st: (None if suggested[p] == self._original(p) else suggested[p], False),
                   f"Relabel {self._what(paths)} {what}")

    def exclude(self, paths: list[str]) -> None:
        self._push(paths, lambda p, st: (st[0], True), f"Exclude {self._what(paths)}")

    def restore(self, paths: list[str]) -> None:
        self._push(paths, lambda p, st: (None, False), f"Restore {self._what(paths)}")

    def undo(self) -> None:
        self.stack.undo()

    def redo(self) -> None:
        self.stack.redo()

    # -- internals -------------------------------------------------------------------
    def _what(self, paths) -> str:
        return os.path.basename(paths[0]) if len(paths) == 1 else f"{len(paths)} images"

    def _original(self, path: str) -> str | None:
        index = self.state.dataset
        row = self._rows.get(path)
        original = getattr(index, "original_labels", None) if index is not None else None
        if row is None or original is None or int(original[row]) < 0:
            return None   # an unlabelled image, or one labelled in the app (training.data.pool)
        return index.classes[int(original[row])]

    def _push(self, paths, new_state, text: str) -> None:
        if self.overlay is None or not paths:
            return
        paths = [str(p) for p in paths]
        before = [self.overlay.state(p) for p in paths]
        after = [new_state(p, st) for p, st in zip(paths, before)]
        if before == after:
            return
        self.stack.push(_FixCommand(self, paths, before, after, text))  # push runs redo()

    def _set_states(self, paths, states) -> None:
        # The core applies them: the overlay, the in-memory labels, and the record a run
        # trained on this index keeps in dataset.json (the overlay as it is now).
        from training.data.overlay_apply import set_fixes

        self.last_changed = list(paths)
        replaces = self.overlay.set_aside   # the fixes made elsewhere that the user ignored
        try:
            if set_fixes(self.state.dataset, self.overlay, paths, states, self._rows,
                         save=self.save_overlay):
                self.needs_reopen = True
        except OSError as exc:
            self.needs_reopen = True   # training then reads what the file says
            log.exception("saving the label overlay failed")
            self.failed.emit(f"Could not save the label fixes to {self.overlay.path}: "
                             f"{exc.strerror or exc}")
        if replaces and self.foreign is not None and not self.overlay.set_aside:
            self.foreign = None   # replaced by the user's own (a copy is in the app data folder)
            self.state.statusMessage.emit("Your label fixes replace the ones that came with this "
                                          "dataset; a copy of those is kept in the app's data "
                                          "folder.")
        self.changed.emit()

    def save_overlay(self, overlay=None) -> None:
        """Save the overlay off the GUI thread (``workbench.workers.overlay_writer``: a
        plain snapshot now, the atomic write on the writer's thread; a failure comes back
        as ``failed``)."""
        from workbench.workers.overlay_writer import writer

        writer().save(overlay or self.overlay, weakref.WeakMethod(self._write_failed))

    def request_reopen(self) -> None:
        """Ask for the dataset to be reopened, keeping the undo history (a class edit)."""
        index = self.state.dataset
        if index is not None:
            self._keep_history_for = os.path.realpath(index.root)
            self.reopenRequested.emit()

    def _write_failed(self, message: str) -> None:
        self.needs_reopen = True   # training then reads what the file says
        self.failed.emit(message)

    def _on_dataset(self) -> None:
        from training.data.overlay import LabelOverlay
        from training.data.overlay_apply import trusted_overlay
        from workbench.workers.overlay_writer import flush

        flush()   # the file read below must have every label given before

        self.last_changed = None
        index = self.state.dataset
        keep = index is not None and self._keep_history_for == os.path.realpath(index.root)
        self._keep_history_for = None
        if not keep:   # another dataset; a reopen for a class edit keeps its history
            self.stack.clear()
        self.needs_reopen = False
        self.foreign = None
        if index is None:
            self.overlay, self._rows = None, {}
        else:
            try:
                self.overlay, self.foreign = trusted_overlay(index.root)
            except ValueError as exc:
                self.overlay = LabelOverlay(root=index.root)
                self.failed.emit(str(exc))
            if getattr(index, "original_labels", None) is None:
                index.original_labels = np.asarray(index.labels).copy()
            self._rows = {p: i for i, p in enumerate(index.paths)}
        self.changed.emit()


def fixes_for(state) -> LabelFixes:
    """The one :class:`LabelFixes` of ``state`` (created on first use)."""
    if state.label_fixes is None:
        state.label_fixes = LabelFixes(state)
    return state.label_fixes


def dataset_for_training(state):
    """What a training run started from the app should use: the in-memory dataset, or its
    spec (reopened with the overlay) when exclusions changed since it was opened."""
    fixes = state.label_fixes
    if fixes is not None and fixes.needs_reopen and state.dataset_spec is not None:
        return state.dataset_spec
    return state.dataset



def add_edit_menu(window, state) -> tuple[QAction, QAction, dict]:
    """Edit → Undo / Redo for label fixes, on the window (Ctrl+Z, Ctrl+Shift+Z anywhere),
    and the folder-move actions (``{"apply_folders", "undo_folders"}``)."""
    fixes = fixes_for(state)
    menu = window.menuBar().addMenu("&Edit")
    undo = fixes.stack.createUndoAction(window, "&Undo")
    shortcuts.bind(undo, "undo")
    redo = fixes.stack.createRedoAction(window, "&Redo")
    shortcuts.bind(redo, "redo")
    menu.addAction(undo)
    menu.addAction(redo)
    window.addAction(undo)
    window.addAction(redo)
    from workbench.actions.folder_moves_menu import add_folder_actions

    menu.addSeparator()
    folder = add_folder_actions(window, state, menu)  # optional: the class folders say it (asks first)
    return undo, redo, folder
