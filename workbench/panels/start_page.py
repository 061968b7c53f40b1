"""The first-start page shown by the Dataset panel while no dataset is open."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFrame, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout, QWidget)

from training.data.kinds import OPEN_ACTIONS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE_DIR = os.path.join(ROOT, "resources", "sample")


class StartPage(QWidget):
    """Buttons for the bundled sample, each source kind, and recent datasets.

    Emits ``openRequested(kind)`` with kind ``folder|csv|idx|npz`` (the panel shows the
    file dialog) or ``openPath(path)`` for the sample and recent entries.
    """

    openRequested = Signal(str)
    openPath = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        box = QFrame()
        box.setMaximumWidth(560)
        col = QVBoxLayout(box)
        title = QLabel("Image Classification Workbench")
        title.setStyleSheet("font-size: 20pt; font-weight: 600;")
        col.addWidget(title)
        intro = QLabel("Train and inspect image classifiers on your own computer, offline. "
                       "Start by opening a dataset: a folder with one subfolder per class, "
                       "train/validation/test folders, a CSV of labels, MNIST-style IDX "
                       "files or a NumPy .npz file.")
        intro.setWordWrap(True)
        col.addWidget(intro)
        col.addSpacing(12)

        self.sample_button = QPushButton("Open the sample dataset (Fashion-MNIST, 10 classes)")
        self.sample_button.setObjectName("sampleButton")
        self.sample_button.setMinimumHeight(36)
        self.sample_button.setStyleSheet("font-weight: 600;")
        has_sample = os.path.isdir(SAMPLE_DIR)
        self.sample_button.setEnabled(has_sample)
        if not has_sample:
            self.sample_button.setToolTip(f"The bundled sample is missing: {SAMPLE_DIR}")
        self.sample_button.clicked.connect(lambda: self.openPath.emit(SAMPLE_DIR))
        col.addWidget(self.sample_button)
        for action in OPEN_ACTIONS:
            b = QPushButton(action.label)
            b.setMinimumHeight(30)
            b.clicked.connect(lambda _=False, k=action.key: self.openRequested.emit(k))
            col.addWidget(b)
        col.addSpacing(12)
        col.addWidget(QLabel("<b>Recent datasets</b>"))
        self.recent = QListWidget()
        self.recent.setMaximumHeight(150)
        self.recent.itemActivated.connect(self._recent_activated)
        self.recent.itemClicked.connect(self._recent_activated)
        col.addWidget(self.recent)
        outer.addWidget(box, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for p in paths:
            item = QListWidgetItem(p)
            item.setData(Qt.ItemDataRole.UserRole, p)
            self.recent.addItem(item)
        if not paths:
            item = QListWidgetItem("No recent datasets yet.")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.recent.addItem(item)

    def _recent_activated(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        if path:
            self.openPath.emit(path)
