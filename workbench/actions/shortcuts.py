"""The one keyboard-shortcut map of the app: every shortcut is registered here, so no two
commands claim the same keys (Qt then fires neither: "Ambiguous shortcut overload") and
Help → Keyboard shortcuts lists them all.

Qt's standard keys are used where they exist (``QKeySequence.StandardKey``: the platform's
own binding, e.g. F1 for help), a fixed sequence otherwise. To add one: add a row to
``SHORTCUTS``, then ``bind(action_or_button, "name")`` (``tests/workbench/test_shortcuts.py``
fails on a duplicate).
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QKeySequence

Std = QKeySequence.StandardKey


@dataclass(frozen=True)
class Shortcut:
    name: str
    label: str            # what it does, as the help lists it
    where: str            # where it works ("Everywhere", or a panel's name)
    standard: Std | None = None
    keys: str = ""        # used when there is no standard key (or the platform has none)

    def sequence(self) -> QKeySequence:
        if self.standard is not None:
            seq = QKeySequence(self.standard)
            if not seq.isEmpty():
                return seq
        return QKeySequence(self.keys)


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("open_dataset", "Open a dataset folder", "Everywhere", Std.Open, "Ctrl+O"),
    Shortcut("open_run", "Open a run folder", "Everywhere", None, "Ctrl+Shift+R"),
    Shortcut("quit", "Quit (asks first while training runs)", "Everywhere", Std.Quit, "Ctrl+Q"),
    Shortcut("help", "Show the keyboard shortcuts", "Everywhere", Std.HelpContents, "F1"),
    *(Shortcut(f"panel_{i + 1}", f"Go to the {name} panel", "Everywhere", None, f"Ctrl+{i + 1}")
      for i, name in enumerate(("Dataset", "Model", "Training", "Results", "Classify"))),
    Shortcut("start_training", "Start training", "Everywhere", None, "F5"),
    Shortcut("stop_training", "Stop training (the run is kept and can be resumed)",
             "While training runs", None, "Esc"),
    Shortcut("undo", "Undo the last label change", "Everywhere", Std.Undo, "Ctrl+Z"),
    Shortcut("redo", "Redo the label change just undone", "Everywhere", Std.Redo, "Ctrl+Shift+Z"),
    Shortcut("open_photos", "Add photos to classify", "Classify", None, "Ctrl+Shift+O"),
    Shortcut("copy_path", "Copy the selected image's path", "Image lists", Std.Copy, "Ctrl+C"),
)
BY_NAME = {s.name: s for s in SHORTCUTS}


def sequence(name: str) -> QKeySequence:
    """The key sequence registered as ``name`` (KeyError for an unregistered name)."""
    return BY_NAME[name].sequence()


def text(name: str) -> str:
    """``"Ctrl+O"``: the sequence as shown in menus and tooltips."""
    return sequence(name).toString(QKeySequence.SequenceFormat.NativeText)


def bind(target, name: str, tooltip: str | None = None) -> None:
    """Give ``target`` (a ``QAction`` or a button) the registered shortcut ``name``, and
    mention the keys in its tooltip."""
    target.setShortcut(sequence(name))
    if tooltip is not None:
        target.setToolTip(f"{tooltip} ({text(name)})")


def rows() -> list[tuple[str, str, str]]:
    """``(keys, what it does, where)`` for every shortcut, for the help dialog."""
    return [(text(s.name), s.label, s.where) for s in SHORTCUTS]
