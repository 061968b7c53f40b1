"""The Grad-CAM overlay of an image detail view: a toggle, a class choice, an opacity
slider, and the heatmap drawn over the image.

Heatmaps are computed in a :class:`~workbench.compute.requests.GradCamJob` (the compute service) and cached
per (run, image, class), so toggling, changing the opacity or coming back to an image
costs nothing; only the pixmap composition happens on the GUI thread (~1 ms).
"""
from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QLabel, QSlider, QWidget

from workbench.compute.requests import GradCamJob
from workbench.workers.job_runner import JobRunner
from workbench.workers.qimages import image_to_qimage

CACHE_SIZE = 128
PREDICTED = "Predicted class"


class HeatmapOverlay(QObject):
    """Controls (``self.controls``) and state of one detail view's heatmap.

    Signals:
        changed(): the overlay to draw changed (a heatmap arrived, toggled, opacity).
    """

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._runner = JobRunner(self)
        self._cache: OrderedDict = OrderedDict()
        self.run_dir: str | None = None
        self.item: dict | None = None
        self.dataset = None
        self.classes: list[str] = []
        self.current: dict | None = None   # the worker result shown now
        self.controls = QWidget()
        self.toggle = QCheckBox("Heatmap")
        self.toggle.setToolTip("Show which parts of the image the model used for the chosen "
                               "class (Grad-CAM; input saliency for models without convolutions)")
        self.class_choice = QComboBox()
        self.class_choice.addItem(PREDICTED)
        self.class_choice.setToolTip("The class whose evidence the heatmap shows")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setToolTip("Heatmap opacity")
        self.note = QLabel("")
        self.note.setStyleSheet("color: palette(mid);")
        # Two rows: the detail column is ~280 px wide at 1024x640.
        grid = QGridLayout(self.controls)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.toggle, 0, 0)
        grid.addWidget(self.class_choice, 0, 1)
        grid.addWidget(QLabel("Opacity"), 1, 0)
        grid.addWidget(self.opacity, 1, 1)
        grid.setColumnStretch(1, 1)
        self.controls.setEnabled(False)
        self.controls.setToolTip("Heatmaps need a trained run: pick one first")
        self.toggle.toggled.connect(self._refresh)
        self.class_choice.currentIndexChanged.connect(self._refresh)
        self.opacity.valueChanged.connect(lambda _v: self.changed.emit())

    # -- inputs ------------------------------------------------------------------------
    def set_run(self, run_dir: str | None) -> None:
        if run_dir == self.run_dir:
            return
        self.run_dir = run_dir or None
        self.controls.setEnabled(bool(self.run_dir))
        self.controls.setToolTip("" if self.run_dir else "Heatmaps need a trained run: pick one first")
        self._refresh()

    def set_item(self, item: dict | None, classes: list[str], dataset=None) -> None:
        self.item, self.dataset = item, dataset
        if list(classes) != self.classes:
            self.classes = list(classes)
            self.class_choice.blockSignals(True)
            self.class_choice.clear()
            self.class_choice.addItem(PREDICTED)
            self.class_choice.addItems(self.classes)
            self.class_choice.blockSignals(False)
        self._refresh()

    def chosen_class(self) -> int | None:
        i = self.class_choice.currentIndex()
        return None if i <= 0 else i - 1

    # -- output ------------------------------------------------------------------------
    def visible(self) -> bool:
        return self.toggle.isChecked() and self.current is not None

    def compose(self, pixmap: QPixmap) -> QPixmap:
        """``pixmap`` with the heatmap over it (``pixmap`` itself when nothing to show)."""
        if not self.visible() or pixmap is None or pixmap.isNull():
            return pixmap
        heat = QPixmap.fromImage(image_to_qimage(self.current["colored"]))
        out = QPixmap(pixmap)
        painter = QPainter(out)
        painter.setOpacity(self.opacity.value() / 100.0)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawPixmap(out.rect(), heat)
        painter.end()
        return out

    def pending_work(self) -> bool:
        return self._runner.busy()

    def shutdown(self) -> None:
        self._runner.shutdown()

    # -- internals ---------------------------------------------------------------------
    def _key(self):
        path = (self.item or {}).get("path")
        return (self.run_dir, path, self.chosen_class()) if path and self.run_dir else None

    def _refresh(self, *_args) -> None:
        key = self._key()
        self.current = None
        if key is None or not self.toggle.isChecked():
            self._runner.cancel()
            self.note.setText("")
            self.changed.emit()
            return
        if key in self._cache:
            self._cache.move_to_end(key)
            self._show(self._cache[key])
            return
        self.note.setText("Computing the heatmap…")
        self.toggle.setToolTip("Computing the heatmap…")
        worker = GradCamJob(key[0], key[1], key[2], self.dataset)
        self._runner.start(worker, finished=lambda r, key=key: self._on_result(key, r),
                           failed=self._on_failed)
        self.changed.emit()

    def _on_result(self, key, result: dict) -> None:
        self._cache[key] = result
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        if key == self._key():
            self._show(result)

    def _show(self, result: dict) -> None:
        self.current = result
        idx = result["class_index"]
        name = self.classes[idx] if 0 <= idx < len(self.classes) else str(idx)
        how = "Grad-CAM" if result["method"] == "grad-cam" else "input saliency (no convolution)"
        self.toggle.setToolTip(f"{how} for {name!r}" + (f", layer {result['layer']}"
                                                        if result.get("layer") else ""))
        self.note.setText(f"{how} · {name}")
        self.changed.emit()

    def _on_failed(self, message: str) -> None:
        self.current = None
        self.note.setText(message)
        self.toggle.setToolTip(message)
        self.changed.emit()
