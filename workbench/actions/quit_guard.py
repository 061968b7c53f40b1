"""Asks before quitting while training runs: "Training is running. Stop and quit? The run
is kept and can be resumed.", with "Don't ask again" (remembered in the settings).

Quitting then stops training the usual way (the core keeps the best weights and the
last checkpoint), so nothing is lost but the epochs not yet run.
"""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QMessageBox

SETTING = "confirm/quit_while_training"   # "false" once the user ticked "Don't ask again"
QUESTION = "Training is running. Stop and quit? The run is kept and can be resumed."


def training_running(window) -> bool:
    panels = window.panels
    return "train" in panels and hasattr(panels["train"], "is_training") and panels["train"].is_training()


def should_ask(settings) -> bool:
    return str(settings.value(SETTING, "true")).lower() != "false"


def confirm_quit(window) -> bool:
    """True when the window may close now (asking first while training runs)."""
    if not training_running(window) or not should_ask(window.settings):
        return True
    box = QMessageBox(QMessageBox.Icon.Question, "Quit while training", QUESTION,
                      QMessageBox.StandardButton.NoButton, window)
    quit_button = box.addButton("Stop and quit", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Keep training", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(quit_button)
    dont_ask = QCheckBox("Don't ask again")
    box.setCheckBox(dont_ask)
    box.setObjectName("quitWhileTraining")
    box.exec()
    ok = box.clickedButton() is quit_button
    if ok and dont_ask.isChecked():
        window.settings.set_value(SETTING, "false")
        window.settings.sync()
    return ok
