"""Add, rename and delete classes from the app, through the label overlay
(``training.data.classedits``): the folders are never touched.

Adding and renaming take effect at once in the open dataset (a new class goes last, a
renamed one keeps its number, so no image's label moves) and are steps of the label fixes'
undo history (Ctrl+Z). Deleting a class changes which images are labelled, so the dataset
is reopened; the person is asked first.
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
    def __init__(self, fixes, before: tuple, after: tuple, text: str):
        super().__init__(text)
        self.fixes, self.before, self.after = fixes, before, after

    def redo(self) -> None:
        _restore(self.fixes, self.after)

    def undo(self) -> None:
        _restore(self.fixes, self.before)


def _restore(fixes, snap: tuple) -> None:
    edits, labels, classes = snap
    ov = fixes.overlay
    ov.classes, ov.labels = copy.deepcopy(edits), dict(labels)
    index = fixes.state.dataset
    index.classes[:] = classes   # the same list object: every view reading it follows
    fixes.last_changed = None    # a renamed class changes many captions
    try:
        ov.save()
    except OSError as exc:
        log.exception("saving the label overlay failed")
        fixes.failed.emit(f"Could not save the classes to {ov.path}: {exc.strerror or exc}")
    fixes.changed.emit()


def _apply(fixes, edit, text: str) -> bool:
    """Run ``edit(overlay, source)``; in place when no class changes its number (one undo
    step), else saved for a reopen. Returns True when the dataset must be reopened.

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
        fixes.overlay.save()
        fixes.needs_reopen = True
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


def delete_class(fixes, name: str) -> None:
    """Delete ``name``: its images become unlabelled; the caller reopens the dataset."""
    index = fixes.state.dataset
    fixes.overlay.delete_class(name, source_classes(index))
    fixes.overlay.save()
    fixes.needs_reopen = True
