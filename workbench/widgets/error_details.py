""""Details…" for an error shown in the app: the traceback the log file holds for it.

A worker logs its exception with the traceback (``log.exception``) and sends the user a
one-line message; this button, next to that message, shows the technical part from the
log file (``training.logs``) for a bug report, without making the message itself long.
"""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from training.logs import last_traceback, log_file


def details_text() -> str:
    """The newest traceback in the log file, or a sentence saying there is none."""
    text = last_traceback()
    return text or "The log file holds no traceback for this error."


class DetailsButton(QPushButton):
    """A "Details…" button that opens a dialog with the newest traceback from the log."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Details…", parent)
        self.setToolTip("Show the technical details of the error (from the log file)")
        self.clicked.connect(self.show_details)
        self.dialog: QMessageBox | None = None

    def show_details(self) -> QMessageBox:
        """Open (non-modal) the details dialog; returns it."""
        if self.dialog is not None:
            self.dialog.close()
        box = QMessageBox(QMessageBox.Icon.Information, "Error details",
                          f"The technical details of the last error. The whole log is in\n"
                          f"{log_file()}", QMessageBox.StandardButton.Close, self)
        box.setDetailedText(details_text())
        self.dialog = box
        box.open()
        return box
