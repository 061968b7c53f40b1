"""The augmentation preview: a grid with a few training images (first column) and
random augmented versions of each, as training would see them.

The images are computed by :class:`~workbench.compute.requests.AugPreviewJob`;
this widget shows the result, or says why there is nothing to show.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from workbench.widgets.error_details import offer_details
from workbench.workers.qimages import image_to_qimage

CELL = 56  # pixels per preview image on screen


class AugPreview(QGroupBox):
    def __init__(self, parent=None):
        super().__init__("Augmentation preview", parent)
        col = QVBoxLayout(self)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color:#666;")
        offer_details(self.note)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setSpacing(3)
        self.grid.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.grid_host)
        col.addWidget(self.note)
        self.cells: list[QLabel] = []
        self.set_message("Open a dataset to preview augmentation on its images.")

    def _clear(self) -> None:
        for cell in self.cells:
            self.grid.removeWidget(cell)
            cell.deleteLater()
        self.cells = []

    def set_message(self, text: str) -> None:
        self._clear()
        self.grid_host.hide()
        self.note.setText(text)

    def set_images(self, result: dict) -> None:
        """Shows ``AugPreviewJob``'s result."""
        self._clear()
        originals, variants = result.get("originals") or [], result.get("variants") or []
        if not originals:
            errors = result.get("errors") or []
            self.set_message("No training image could be read for the preview."
                             + (f" {errors[0]}" if errors else ""))
            return
        for c, text in enumerate(["original"] + [f"random {i + 1}" for i in range(len(variants[0]))]):
            head = QLabel(text)
            head.setStyleSheet("color:#666; font-size:11px;")
            head.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.grid.addWidget(head, 0, c)
            self.cells.append(head)
        for r, (orig, row) in enumerate(zip(originals, variants), start=1):
            for c, arr in enumerate([orig, *row]):
                cell = QLabel()
                pix = QPixmap.fromImage(image_to_qimage(arr)).scaled(
                    CELL, CELL, Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.FastTransformation)
                cell.setPixmap(pix)
                cell.setFixedSize(CELL, CELL)
                cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
                cell.setToolTip((result.get("paths") or [""] * len(originals))[r - 1])
                self.grid.addWidget(cell, r, c)
                self.cells.append(cell)
        self.grid_host.show()
        self.note.setText("Each row: a training image, then random versions of it as training "
                          "sees them (the test and validation images are never changed).")

    def image_count(self) -> int:
        return sum(1 for c in self.cells if c.pixmap() is not None and not c.pixmap().isNull())
