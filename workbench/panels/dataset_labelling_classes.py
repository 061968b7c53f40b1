"""Adding, renaming and deleting classes from the labelling view's class list.

The class list's buttons ask here (a name dialog, or a confirmation for Delete); the edit
itself is ``workbench.actions.class_edits`` (an undoable label-fix command: Ctrl+Z brings a
deleted class and its labels back). An edit that renumbers the classes reopens the dataset
(``LabelFixes.reopenRequested``), and the labelling mode stays on. Part of
:class:`~workbench.panels.dataset_labelling.LabellingView`, which keeps ``add_class`` /
``rename_class`` / ``delete_class`` as its API.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QInputDialog, QMessageBox

from workbench.actions import class_edits


class ClassEditor(QObject):
    """The class list's Add class… / Rename… / Delete for one labelling view."""

    def __init__(self, view):
        super().__init__(view)
        self.view = view
        self.fixes = view.fixes
        view.class_list.addRequested.connect(self.ask_add_class)
        view.class_list.renameRequested.connect(self.ask_rename_class)
        view.class_list.deleteRequested.connect(self.ask_delete_class)
        self.fixes.reopenRequested.connect(self._reopen)

    @Slot()
    def ask_add_class(self) -> None:
        name, ok = QInputDialog.getText(self.view.panel, "Add class", "Name of the new class:")
        if ok:
            self.add_class(name)

    @Slot(str)
    def ask_rename_class(self, old: str) -> None:
        new, ok = QInputDialog.getText(self.view.panel, "Rename class", f"New name for {old}:", text=old)
        if ok and new.strip() != old:
            self.rename_class(old, new)

    @Slot(str)
    def ask_delete_class(self, name: str) -> None:
        n = self.view.totals().get(name, 0)
        answer = QMessageBox.question(
            self.view.panel, "Delete class",
            f"Delete the class {name}? Its {n:,} image{'s' if n != 1 else ''} become unlabelled; "
            "no file is touched or moved. Ctrl+Z (Edit → Undo) brings the class and its "
            "labels back.")
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_class(name)

    def add_class(self, name: str) -> bool:
        """Make a class (Ctrl+Z undoes); False with the reason shown when it can't."""
        return self._edit(lambda: class_edits.add_class(self.fixes, name))

    def rename_class(self, old: str, new: str) -> bool:
        return self._edit(lambda: class_edits.rename_class(self.fixes, old, new))

    def delete_class(self, name: str) -> bool:
        return self._edit(lambda: class_edits.delete_class(self.fixes, name))

    def _edit(self, edit) -> bool:
        from training.data.classedits import ClassNameError

        view = self.view
        if view.state.dataset is None or self.fixes.overlay is None:
            return False
        try:
            edit()   # an edit that renumbers classes reopens the dataset (reopenRequested)
        except ClassNameError as exc:
            view.say(str(exc))
            return False
        except OSError as exc:
            view.say(f"Could not save the classes: {exc.strerror or exc}")
            return False
        return True

    @Slot()
    def _reopen(self) -> None:
        """A class edit or its undo renumbered the classes: reopen (labelling stays on)."""
        view = self.view
        if view.state.dataset_spec is not None:
            view.panel.open_spec(view.state.dataset_spec)
