"""Giving label fixes from a view: the right-click entries (Relabel as ▸ class, Exclude,
Restore, Undo, Redo, and Accept suggestion where the view suggests classes) and the keys
(a digit relabels to the class it stands for, ``workbench.actions.fixes.class_keys``;
Delete excludes, R restores, Enter accepts the suggestions), with the hint line that names
the digits.

Apart from ``workbench.actions.fixes`` (``LabelFixes``: the overlay, the undo stack,
saving) because these are how a view asks for fixes, not what a fix does; every gallery
and the Dataset panel share them.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu

from workbench.actions import shortcuts
from workbench.actions.fixes import LabelFixes, class_keys


def add_fix_actions(menu: QMenu, paths: list[str], fixes: LabelFixes,
                    suggested: dict[str, str] | None = None) -> None:
    """The Relabel/Exclude/Restore/Undo/Redo entries for ``paths`` (shared by every menu);
    with ``suggested`` (``{path: class}``) an "Accept suggestion" entry first (Enter)."""
    if not fixes.classes or not paths:
        return
    current = fixes.label_of(paths[0])
    if suggested:
        wanted = {p: suggested[p] for p in paths if p in suggested}
        names = sorted(set(wanted.values()))
        accept = menu.addAction("Accept suggestion" + (f": {names[0]}" if len(names) == 1 else ""))
        accept.setShortcut(QKeySequence(Qt.Key.Key_Return))
        accept.setEnabled(bool(wanted))
        accept.triggered.connect(lambda _=False: fixes.accept_suggestions(wanted))
    sub = menu.addMenu("Relabel as")
    keys = {c: k for k, c in class_keys(fixes.classes).items()}
    for c in fixes.classes:
        act = sub.addAction(f"{c}" + ("  (current)" if c == current else ""))
        if c in keys:
            act.setShortcut(QKeySequence(keys[c]))
        act.triggered.connect(lambda _=False, c=c: fixes.relabel(paths, c))
    exclude = menu.addAction("Exclude from training")
    exclude.setShortcut(QKeySequence(Qt.Key.Key_Delete))
    exclude.triggered.connect(lambda _=False: fixes.exclude(paths))
    restore = menu.addAction("Restore original label")
    restore.setShortcut(QKeySequence("R"))
    restore.triggered.connect(lambda _=False: fixes.restore(paths))
    status = fixes.status(paths[0])
    restore.setEnabled(bool(status) or len(paths) > 1)
    menu.addSeparator()
    # Undo/Redo keys belong to the window's Edit menu; shown here as text only.
    undo = menu.addAction(f"Undo {fixes.stack.undoText()}".strip() + f"\t{shortcuts.text('undo')}")
    undo.setEnabled(fixes.stack.canUndo())
    undo.triggered.connect(lambda _=False: fixes.undo())
    redo = menu.addAction(f"Redo {fixes.stack.redoText()}".strip() + f"\t{shortcuts.text('redo')}")
    redo.setEnabled(fixes.stack.canRedo())
    redo.triggered.connect(lambda _=False: fixes.redo())


class _FixKeys(QObject):
    """Key presses on one view: a digit relabels the current image(s) to its class
    (:func:`class_keys`), Delete excludes, R restores, Enter accepts the suggestions
    (``suggested()`` -> ``{path: class}``) where the view has them. An event filter, not
    QActions: the same keys work in every gallery, and Qt would call QActions sharing
    keys ambiguous and fire none."""

    def __init__(self, view, current_paths, fixes: LabelFixes, suggested=None):
        super().__init__(view)
        self.current_paths, self.fixes, self.suggested = current_paths, fixes, suggested
        view.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        from PySide6.QtCore import QEvent

        if event.type() != QEvent.Type.KeyPress or event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        key = event.key()
        fixes = self.fixes
        if Qt.Key.Key_0 <= key <= Qt.Key.Key_9:
            cls = class_keys(fixes.classes).get(str(key - Qt.Key.Key_0))
            paths = self.current_paths()
            if paths and cls is not None:
                fixes.relabel(paths, cls)
                return True
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.suggested is not None:
            wanted = self.suggested()
            if wanted:
                fixes.accept_suggestions(wanted)
                return True
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            paths = self.current_paths()
            if paths:
                fixes.exclude(paths)
                return True
        elif key == Qt.Key.Key_R:
            paths = self.current_paths()
            if paths:
                fixes.restore(paths)
                return True
        return False


def install_fix_keys(view, current_paths, fixes: LabelFixes, suggested=None) -> _FixKeys:
    """Give ``view`` the fix keys (see :class:`_FixKeys`); Ctrl+Z / Ctrl+Shift+Z are the
    window's Edit → Undo / Redo (``add_edit_menu``)."""
    return _FixKeys(view, current_paths, fixes, suggested)


def keys_hint(classes) -> str:
    """One line for a view's hint: which digits relabel to which class."""
    keys = class_keys(classes)
    if keys and all(k == c for k, c in keys.items()):
        return "digit = that class"
    shown = ", ".join(f"{k} {c}" for k, c in list(keys.items())[:4])
    return shown + (" …" if len(keys) > 4 else "")
