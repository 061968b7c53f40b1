"""Pieces of the Dataset panel: class table, bad-file table, split settings, preview,
and the CSV column dialog."""
from __future__ import annotations

import os

from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QSize, Qt, QTimer, Signal)
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                               QFormLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QSizePolicy, QSpinBox, QTableView,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
                               QFileDialog)

from training.data.index import SPLIT_NAMES
from workbench.widgets.pinned_views import PinnedTableView
from workbench.widgets.wrap import breakable
from workbench.workers.qimages import fit_mode


class ClassTable(QTableWidget):
    """Class name and images per split; selecting a row filters the thumbnails."""

    def __init__(self, parent=None):
        super().__init__(0, 5, parent)
        # "Val" keeps the count columns narrow so class names are not elided at 1024x640.
        self.setHorizontalHeaderLabels(["Class", "Train", "Val", "Test", "Total"])
        self.horizontalHeaderItem(2).setToolTip("Validation")
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        h = self.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, 5):
            h.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)

    def set_index(self, index) -> None:
        self.clearContents()
        if index is None:
            self.setRowCount(0)
            return
        counts = index.counts()
        self.setRowCount(len(index.classes))
        for r, name in enumerate(index.classes):
            per = [counts[s][name] for s in SPLIT_NAMES]
            self.setItem(r, 0, QTableWidgetItem(name))
            for c, n in enumerate(per + [sum(per)], start=1):
                item = QTableWidgetItem(f"{n:,}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if n == 0 and c < 4:
                    item.setForeground(Qt.GlobalColor.gray)
                self.setItem(r, c, item)


class BadFilesModel(QAbstractTableModel):
    """(file, reason) rows; a model, not a QTableWidget, because a scraped folder can
    have thousands of bad files."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list = []

    def set_bad_files(self, bad_files) -> None:
        rows = list(bad_files or [])
        if rows == self._rows:
            return   # every run's end asks again: a reset re-lays the view out (4 ms) for nothing
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def add_bad_file(self, bad) -> None:
        if any(b.path == bad.path for b in self._rows):
            return
        n = len(self._rows)
        self.beginInsertRows(QModelIndex(), n, n)
        self._rows.append(bad)
        self.endInsertRows()

    def rowCount(self, parent=QModelIndex()):  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()):  # noqa: B008
        return 2

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return ("File", "Reason")[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        bad = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return bad.path if index.column() == 0 else bad.reason
        return None


def bad_files_view(model: BadFilesModel) -> QTableView:
    view = PinnedTableView()
    view.setModel(model)
    view.verticalHeader().setVisible(False)
    view.setWordWrap(False)
    view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().resizeSection(0, 320)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    return view


class SplitSettings(QGroupBox):
    """Validation/test fractions and seed; emits ``changed(val, test, seed)`` debounced."""

    changed = Signal(float, float, int)

    def __init__(self, parent=None):
        super().__init__("Split", parent)
        form = QFormLayout(self)
        self.val = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.5, singleStep=0.05, value=0.1)
        self.test = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.5, singleStep=0.05, value=0.1)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=42)
        form.addRow("Validation fraction", self.val)
        form.addRow("Test fraction", self.test)
        form.addRow("Seed", self.seed)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #666;")
        # A wrapped label's height is not part of the group's minimum size, so a narrow
        # column cut its second line: reserve three lines.
        self.note.setMinimumHeight(3 * self.note.fontMetrics().lineSpacing())
        form.addRow(self.note)
        # Re-splitting re-indexes the dataset: wait until the user stops clicking.
        self._timer = QTimer(self, singleShot=True, interval=500)
        self._timer.timeout.connect(self._emit)
        for w in (self.val, self.test, self.seed):
            w.valueChanged.connect(self._schedule)
        self._quiet = False

    def set_values(self, val: float, test: float, seed: int, source_split: bool) -> None:
        self._quiet = True
        self.val.setValue(val)
        self.test.setValue(test)
        self.seed.setValue(seed)
        self._quiet = False
        for w in (self.val, self.test, self.seed):
            w.setEnabled(not source_split)
        self.note.setText("This dataset defines its own split; it is used as is."
                          if source_split else
                          "Stratified split with this seed: every class stays in train.")

    def _schedule(self) -> None:
        if not self._quiet:
            self._timer.start()

    def _emit(self) -> None:
        self.changed.emit(self.val.value(), self.test.value(), self.seed.value())


class PreviewPane(QWidget):
    """The selected image, large, with file name, pixel size, file size and label."""

    def __init__(self, parent=None):
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        self.image = QLabel("Select an image to see it here.")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setWordWrap(True)   # error messages name long paths
        self.image.setMinimumSize(160, 160)   # the three columns fit a 1024 px window
        self.image.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.image.setStyleSheet("background: #f4f4f4; color: #777; border: 1px solid #ddd;")
        col.addWidget(self.image, 1)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        col.addWidget(self.info)
        self._pixmap: QPixmap | None = None

    def show_sample(self, pixmap: QPixmap | None, fields: list[tuple[str, str]],
                    error: str = "") -> None:
        self._pixmap = pixmap
        if pixmap is None:
            self.image.setPixmap(QPixmap())
            self.image.setText(f"Cannot show this file:\n{error}" if error else "Loading…")
        self._rescale()
        # Values may break after "/", "_", "-" and ".": one long folder or file name must not
        # widen the pane and push a 1024 px window wider (1044 px with a pytest folder name).
        rows = "".join(f"<tr><td style='color:#666;padding-right:8px'>{k}</td>"
                       f"<td>{breakable(_esc(v))}</td></tr>" for k, v in fields)
        self.info.setText(f"<table>{rows}</table>")
        self.info.setToolTip("\n".join(f"{k}: {v}" for k, v in fields))   # plain, to copy

    def clear(self) -> None:
        self._pixmap = None
        self.image.setPixmap(QPixmap())
        self.image.setText("Select an image to see it here.")
        self.info.setText("")

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._rescale()

    def fit_size(self) -> tuple[int, int]:
        """The size a picture is scaled to fit (the image box less its border)."""
        size = self.image.size()
        return size.width() - 8, size.height() - 8

    def _rescale(self) -> None:
        if self._pixmap is None or self._pixmap.isNull():
            return
        pix = self._pixmap
        fit = QSize(*self.fit_size())
        if pix.size().scaled(fit, Qt.AspectRatioMode.KeepAspectRatio) == pix.size():
            self.image.setPixmap(pix)   # made to fit already (a preview decoded ahead)
            return
        self.image.setPixmap(pix.scaled(fit, Qt.AspectRatioMode.KeepAspectRatio,
                                        fit_mode(pix.width(), pix.height())))


def _esc(text: str) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


class CsvColumnsDialog(QDialog):
    """Asks which column holds the image id and which the label, and the images folder."""

    def __init__(self, path: str, columns: list[str], parent=None, message: str = "",
                 folder: str | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Open CSV: {os.path.basename(path)}")
        form = QFormLayout(self)
        self.message = QLabel(message or f"The CSV has {len(columns)} columns. Which ones hold "
                                         "the image file name and the label?")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.message)
        self.id_column = QComboBox()
        self.label_column = QComboBox()
        self.id_column.addItems(columns)
        self.label_column.addItems(columns)
        # The core's guess, as indexing would make it without the dialog.
        from training.data.csvsource import guess_column

        id_guess = guess_column(columns, "id")
        id_guess = 0 if id_guess is None else id_guess
        label_guess = guess_column(columns, "label", exclude=id_guess)
        self.id_column.setCurrentIndex(id_guess)
        self.label_column.setCurrentIndex(len(columns) - 1 if label_guess is None else label_guess)
        form.addRow("Image id column", self.id_column)
        form.addRow("Label column", self.label_column)
        row = QHBoxLayout()
        self.images_dir = QLineEdit()
        self.images_dir.setPlaceholderText("(detected next to the CSV)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.images_dir, 1)
        row.addWidget(browse)
        form.addRow("Images folder", row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._dir = folder or os.path.dirname(path)

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Images folder", self._dir)
        if d:
            self.images_dir.setText(d)

    def values(self) -> dict:
        return {"id_column": self.id_column.currentText(),
                "label_column": self.label_column.currentText(),
                "images_dir": self.images_dir.text().strip() or None}
