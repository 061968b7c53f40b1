"""Add, rename and delete classes from the app, through the label overlay
(``training.data.classedits``): the folders are never touched.

Adding and renaming take effect at once in the open dataset (a new class goes last, a
renamed one keeps its number, so no image's label moves). Deleting a class (or bringing a
deleted class folder back) changes which images are labelled and the classes' numbers, so
the dataset is reopened (``LabelFixes.request_reopen``: the undo history is kept across
that reopen); the person is asked first. Every one of them is a step of the label fixes'
undo history (Ctrl+Z), and undoing a delete reopens the dataset again with the class and
its labels back.
"""
from __future__ import annotations

import copy
import logging

from PySide6.QtGui import QUndoCommand

log = logging.getLogger(__name__)


def source_classes(index) -> list[str]:
    """The dataset's own classes (before the overlay's class edits)."""
    source = getattr(index, "source_classes", None)
    return list(source) if source is not None else list(index.classes)


def _snapshot(fixes) -> tuple:
    ov = fixes.overlay
    return copy.deepcopy(ov.classes), dict(ov.labels), list(fixes.state.dataset.classes)


class _ClassCommand(QUndoCommand):
    """One class edit: ``apply(fixes, state)`` puts the state after (redo) or before (undo)
    back: :func:`_restore` in place, :func:`_reopen_with` with a reopen of the dataset."""

    def __init__(self, fixes, before: tuple, after: tuple, text: str, apply=None):
        super().__init__(text)
        self.fixes, self.before, self.after = fixes, before, after
        self.apply = apply or _restore

    def redo(self) -> None:
        self.apply(self.fixes, self.after)

    def undo(self) -> None:
        self.apply(self.fixes, self.before)


def _restore(fixes, snap: tuple) -> None:
    edits, labels, classes = snap
    ov = fixes.overlay
    ov.classes, ov.labels = copy.deepcopy(edits), dict(labels)
    index = fixes.state.dataset
    index.classes[:] = classes   # the same list object: every view reading it follows
    fixes.last_changed = None    # a renamed class changes many captions
    try:
        fixes.save_overlay()
    except OSError as exc:
        log.exception("saving the label overlay failed")
        fixes.failed.emit(f"Could not save the classes to {ov.path}: {exc.strerror or exc}")
    fixes.changed.emit()


def _overlay_state(ov) -> tuple:
    return copy.deepcopy(ov.classes), dict(ov.labels)


def _reopen_with(fixes, snap: tuple) -> None:
    ov = fixes.overlay
    ov.classes, ov.labels = copy.deepcopy(snap[0]), dict(snap[1])
    fixes.last_changed = None
    try:
        fixes.save_overlay()   # the reopen waits for the write (overlay_writer.flush)
    except OSError as exc:
        log.exception("saving the label overlay failed")
        fixes.failed.emit(f"Could not save the classes to {ov.path}: {exc.strerror or exc}")
    fixes.needs_reopen = True
    fixes.request_reopen()


def _apply(fixes, edit, text: str) -> bool:
    """Run ``edit(overlay, source)``; in place when no class changes its number, else
    with a reopen of the dataset; one undo step either way. Returns True when the
    dataset is being reopened.

    Raises:
        ClassNameError: the name is empty, taken or unknown (nothing changed).
    """
    index = fixes.state.dataset
    source = source_classes(index)
    before = _snapshot(fixes)
    edit(fixes.overlay, source)
    new = fixes.overlay.class_names(source)
    old = before[2]
    back = [n for n in new if n in source and n not in old]   # a deleted folder class again
    in_place = not back and ((new[:len(old)] == old and len(new) == len(old) + 1) or (
        len(new) == len(old) and sum(a != b for a, b in zip(new, old)) <= 1))
    if not in_place:
        after = _overlay_state(fixes.overlay)
        fixes.stack.push(_ClassCommand(fixes, before[:2], after, text, _reopen_with))   # runs redo()
        return True
    after = (copy.deepcopy(fixes.overlay.classes), dict(fixes.overlay.labels), new)
    fixes.stack.push(_ClassCommand(fixes, before, after, text))   # push runs redo()
    return False


def add_class(fixes, name: str) -> bool:
    """Make the class ``name`` (no images yet). True: reopen the dataset (a class folder
    deleted earlier came back)."""
    return _apply(fixes, lambda ov, src: ov.add_class(name, src), f"Add class {name.strip()}")


def rename_class(fixes, old: str, new: str) -> bool:
    """Rename ``old`` to ``new`` (label fixes follow; a class folder keeps its name)."""
    return _apply(fixes, lambda ov, src: ov.rename_class(old, new, src),
                  f"Rename class {old} to {new.strip()}")


def delete_class(fixes, name: str) -> bool:
    """Delete ``name``: its images become unlabelled (the dataset is reopened; Ctrl+Z
    brings the class and its labels back)."""
    return _apply(fixes, lambda ov, src: ov.delete_class(name, src), f"Delete class {name}")
