""""Details…" for an error shown in the app: the traceback the log file holds for it.

A worker logs its exception with the traceback (``log.exception``) and sends the user a
one-line message; "Details…" next to that message shows the technical part from the log
file (``training.logs``) for a bug report, without making the message itself long.

One dialog (:func:`show_details`), two ways to offer it:

* :class:`DetailsButton`, a push button beside an error label (the Training panel);
* a "Details…" link inside the label that shows the error: ``offer_details(label)`` once,
  then ``label.setText(error_html(message))`` (or ``... + details_link()`` after HTML of
  the panel's own). Every other panel and dialog that shows a job's error does this.
"""
from __future__ import annotations

import html

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton, QWidget

from training.logs import last_traceback, log_file

DETAILS_HREF = "workbench:details"
DIALOG_NAME = "errorDetails"
ERROR_COLOR = "#b00020"


def details_text() -> str:
    """The newest traceback in the log file, or a sentence saying there is none."""
    text = last_traceback()
    return text or "The log file holds no traceback for this error."


def show_details(parent: QWidget | None, text: str | None = None) -> QMessageBox:
    """Open (non-modal) the dialog with ``text``, by default the newest traceback from
    the log (a child process's crash gives its exit status and last output); returns it.

    One dialog per ``parent``, made on first use and reused (not deleted on close:
    deleting it while the window's events are still in flight crashed PySide6 now and
    then in the GUI tests)."""
    box = None
    if parent is not None:
        box = parent.findChild(QMessageBox, DIALOG_NAME, Qt.FindChildOption.FindDirectChildrenOnly)
    if box is None:
        box = QMessageBox(QMessageBox.Icon.Information, "Error details", "",
                          QMessageBox.StandardButton.Close, parent)
        box.setObjectName(DIALOG_NAME)
    box.setText(f"The technical details of the last error. The whole log is in\n{log_file()}")
    box.setDetailedText(text if text else details_text())
    box.show()   # non-modal: the window stays usable while it is open
    return box


def details_link() -> str:
    """The "Details…" link to append to an error label's HTML (see :func:`offer_details`)."""
    return f" <a href='{DETAILS_HREF}'>Details…</a>"


def error_html(message: str, color: str | None = ERROR_COLOR) -> str:
    """``message`` escaped (in ``color``; None keeps the label's own) plus the link."""
    text = html.escape(str(message)).replace("\n", "<br>")
    # Always starting with a tag lets a label in Qt's AutoText format see rich text.
    style = f" style='color:{color}'" if color else ""
    return f"<span{style}>{text}</span>{details_link()}"


def offer_details(label: QLabel) -> QLabel:
    """Make ``label``'s "Details…" link open :func:`show_details` (other links are left
    to the label's own handling). The label keeps its text format: in the default
    AutoText, :func:`error_html` is shown as rich text and plain messages stay plain.
    Returns the label."""
    label.setOpenExternalLinks(False)
    label.setTextInteractionFlags(label.textInteractionFlags()
                                  | Qt.TextInteractionFlag.LinksAccessibleByMouse
                                  | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
    label.linkActivated.connect(lambda href: show_details(label) if href == DETAILS_HREF else None)
    return label


def open_details(widget: QWidget) -> QMessageBox | None:
    """The details dialog open over ``widget`` (for tests and callers that close it)."""
    boxes = [b for b in widget.findChildren(QMessageBox, DIALOG_NAME) if b.isVisible()]
    return boxes[-1] if boxes else None


class DetailsButton(QPushButton):
    """A "Details…" button that opens :func:`show_details`."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Details…", parent)
        self.setToolTip("Show the technical details of the error (from the log file)")
        self.clicked.connect(self.show_details)
        self.dialog: QMessageBox | None = None
        self.details: str | None = None   # shown instead of the log's newest traceback

    @Slot()
    def show_details(self) -> QMessageBox:
        """Open (non-modal) the details dialog; returns it."""
        self.dialog = show_details(self, self.details)
        return self.dialog
