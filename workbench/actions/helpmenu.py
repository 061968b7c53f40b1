"""The Help menu: the user guide, keyboard shortcuts (F1), About (versions and device),
Open log folder.

Versions come from package metadata (``importlib.metadata``), never from importing
TensorFlow or Keras: that import takes seconds and must not happen on the GUI thread.
"""
from __future__ import annotations

import importlib.metadata
import logging
import platform
import sys

from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
)

from workbench.actions import shortcuts

log = logging.getLogger(__name__)
APP_NAME = "Image Classification Workbench"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions(device: str | None) -> list[tuple[str, str]]:
    """``(what, version)`` rows for About; cheap (metadata only)."""
    import PySide6

    return [(APP_NAME, _version("image-workbench")),
            ("TensorFlow", _version("tensorflow")),
            ("Keras", _version("keras")),
            ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"),
            ("Python", f"{platform.python_version()} ({sys.executable})"),
            ("Device", device or "not known yet (TensorFlow is still loading)")]


def about_text(device: str | None) -> str:
    return "\n".join(f"{what}: {value}" for what, value in versions(device))


def _close_layout(dialog: QDialog, body, size: tuple[int, int]) -> None:
    """``body`` above a Close button, the dialog at ``size``."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(body)
    layout.addWidget(buttons)
    dialog.resize(*size)


class ShortcutsDialog(QDialog):
    """A table of every shortcut in :mod:`workbench.actions.shortcuts`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcuts.rows()
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Keys", "What it does", "Where"])
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        _close_layout(self, self.table, (620, 440))


def guide_file():
    """The user guide's HTML file, shipped inside the package (``workbench/guide``: package
    data in pyproject.toml), so an installed app has it too; its pictures are beside it."""
    import importlib.resources

    return importlib.resources.files("workbench") / "guide" / "guide.html"


class GuideDialog(QDialog):
    """The user guide in a QTextBrowser: local HTML and pictures, links within the guide
    only (it never goes online)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("User guide")
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setOpenLinks(False)   # anchors are followed below; nothing else is
        self.browser.anchorClicked.connect(self._follow)
        self.source = QUrl.fromLocalFile(str(guide_file()))
        self.browser.setSource(self.source)
        _close_layout(self, self.browser, (760, 640))

    def _follow(self, url: QUrl) -> None:
        if url.isRelative() or url.isLocalFile() and url.adjusted(QUrl.UrlFormattingOption.RemoveFragment) \
                == self.source.adjusted(QUrl.UrlFormattingOption.RemoveFragment):
            if url.fragment():
                self.browser.scrollToAnchor(url.fragment())
            return
        log.info("guide link not followed (the guide stays offline): %s", url.toString())


def add_help_menu(window) -> dict:
    """Add Help to ``window``'s menu bar; returns its actions by name."""
    menu = window.menuBar().addMenu("&Help")
    acts = {}

    def action(name, text, slot, shortcut=None):
        act = QAction(text, window)
        if shortcut:
            shortcuts.bind(act, shortcut)
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.triggered.connect(lambda _=False: slot())
        menu.addAction(act)
        window.addAction(act)
        acts[name] = act
        return act

    action("guide", "&User guide", lambda: show_guide(window))
    action("shortcuts", "&Keyboard shortcuts", lambda: show_shortcuts(window), "help")
    action("logs", "Open &log folder", lambda: open_log_folder(window))
    menu.addSeparator()
    action("about", "&About", lambda: show_about(window))
    return acts


def _show_one(window, cls):
    """Show ``window``'s one dialog of class ``cls`` (made on first use) and return it."""
    dialog = window.findChild(cls)
    if dialog is None:
        dialog = cls(window)
    dialog.show()
    dialog.raise_()
    return dialog


def show_guide(window) -> GuideDialog:
    return _show_one(window, GuideDialog)


def show_shortcuts(window) -> ShortcutsDialog:
    return _show_one(window, ShortcutsDialog)


def show_about(window) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, f"About {APP_NAME}",
                      about_text(getattr(window.state, "device", None)),
                      QMessageBox.StandardButton.Ok, window)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setObjectName("aboutBox")   # tests find it with findChild
    box.open()
    return box


def open_log_folder(window) -> str:
    """Open the log folder in the file manager (created if missing); returns its path."""
    from training.logs import log_dir

    folder = log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("Cannot create the log folder %s: %s", folder, exc)
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
        window.statusBar().showMessage(f"The log folder is {folder} (no file manager could "
                                       "open it)", 15000)
    return str(folder)
