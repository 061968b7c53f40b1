"""Window-wide Start (F5) and Stop (Esc) training actions, in a Training menu.

They live on the main window, not on the Training panel's buttons: a button's shortcut
works only while that button is visible, so Esc did nothing from another panel (and the
Stop tooltip promised it). The keys come from :mod:`workbench.actions.shortcuts`.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from workbench.actions import shortcuts


def _training_panel(window):
    return window.panels["train"]


def start_training(window) -> bool:
    """Start training on the current dataset and model; False when it cannot start."""
    panel = _training_panel(window)
    if panel.is_training() or window.state.dataset is None:
        return False
    window.show_panel("train")
    panel.start_training()
    return panel.is_training()


def stop_training(window) -> bool:
    """Stop a running training (the run is kept and can be resumed); False when none runs."""
    panels = window.panels
    if "train" not in panels or not panels["train"].is_training():
        return False
    panels["train"].stop_training()
    return True


def add_training_actions(window) -> dict:
    """A Training menu with Start and Stop; returns the actions by name."""
    menu = window.menuBar().addMenu("T&raining")
    acts = {}
    for name, label, slot in (("start_training", "&Start training", start_training),
                              ("stop_training", "S&top training", stop_training)):
        act = QAction(label, window)
        shortcuts.bind(act, name)
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.triggered.connect(lambda _=False, fn=slot: fn(window))
        menu.addAction(act)
        window.addAction(act)
        acts[name] = act
    return acts
