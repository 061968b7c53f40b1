"""The labelling view's class list: each class with its key and its labelled images, and
Add class… / Rename… / Delete.

A widget only: it says what the person asked for through signals; the labelling view
(``workbench.panels.dataset_labelling``) does it through the label overlay.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QGridLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

NO_CLASSES = ("Create a class to start labelling: click Add class…, then press its key "
              "on each image.")


class ClassList(QWidget):
    """Key, class and labelled images, one row per class.

    Signals:
        addRequested(): Add class… was clicked.
        renameRequested(str): Rename… was clicked with this class selected.
        deleteRequested(str): Delete was clicked with this class selected.
        classActivated(str): a class was double-clicked (label the selected images with it).
    """

    addRequested = Signal()
    renameRequested = Signal(str)
    deleteRequested = Signal(str)
    classActivated = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Key", "Class", "Labelled"])
        self.table.horizontalHeaderItem(0).setToolTip("Press this key to give the selected "
                                                      "images this class")
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        # Keys typed here label images, as on the grid: the table never takes the focus.
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        h.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemDoubleClicked.connect(
            lambda item: self.classActivated.emit(self._name(item.row())))
        self.table.itemSelectionChanged.connect(self._update_buttons)
        col.addWidget(self.table, 1)
        self.empty = QLabel(NO_CLASSES)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: #8a5a00; background: #fff4d6; padding: 6px;")
        col.addWidget(self.empty)
        # Two rows: one row of three buttons made the column too wide for a 1024 px window.
        row = QGridLayout()
        self.add_button = QPushButton("Add class…")
        self.add_button.setToolTip("Make a class with no images yet (the files are never "
                                   "changed: classes live in the label fixes)")
        self.rename_button = QPushButton("Rename…")
        self.rename_button.setToolTip("Rename the selected class (a class folder keeps its "
                                      "name on disk)")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected class: its images become unlabelled "
                                      "(no file is touched)")
        for button, place in ((self.add_button, (0, 0, 1, 2)), (self.rename_button, (1, 0)),
                              (self.delete_button, (1, 1))):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            row.addWidget(button, *place)
        self.add_button.clicked.connect(self.addRequested.emit)
        self.rename_button.clicked.connect(lambda: self._emit_selected(self.renameRequested))
        self.delete_button.clicked.connect(lambda: self._emit_selected(self.deleteRequested))
        col.addLayout(row)
        self._classes: list[str] = []
        self.set_classes([], {}, {})

    def set_classes(self, classes, keys: dict[str, str], counts: dict[str, int]) -> None:
        """Show ``classes`` with ``keys`` (``{class: key}``) and ``counts`` (``{class: n}``),
        keeping the selected class selected."""
        selected = self.selected()
        self._classes = list(classes)
        self.table.setRowCount(len(self._classes))
        for r, name in enumerate(self._classes):
            cells = (keys.get(name, ""), name, f"{counts.get(name, 0):,}")
            for c, text in enumerate(cells):
                item = self.table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(r, c, item)
                if item.text() != text:
                    item.setText(text)
                if c == 0:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    item.setToolTip(f"Press {text} to label the selected images {name}" if text
                                    else "No key: double-click the class to use it")
                elif c == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if selected in self._classes:
            self.table.selectRow(self._classes.index(selected))
        self.empty.setVisible(not self._classes)
        self._update_buttons()

    def classes(self) -> list[str]:
        return list(self._classes)

    def selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self._name(rows[0].row()) if rows else None

    def select(self, name: str) -> None:
        if name in self._classes:
            self.table.selectRow(self._classes.index(name))

    def _name(self, row: int) -> str | None:
        return self._classes[row] if 0 <= row < len(self._classes) else None

    def _emit_selected(self, signal) -> None:
        name = self.selected()
        if name is not None:
            signal.emit(name)

    def _update_buttons(self) -> None:
        chosen = self.selected() is not None
        self.rename_button.setEnabled(chosen)
        self.delete_button.setEnabled(chosen)
