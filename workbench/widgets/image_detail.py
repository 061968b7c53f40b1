"""One image shown large, with its caption, face boxes and a class-probability chart.

Shared by the Results and Classify panels. The image is decoded off the GUI thread
(:class:`~workbench.workers.gallery_images.PreviewWorker`), and only once the view is
visible (:class:`~workbench.widgets.when_shown.WhenShown`): a hidden Results panel's
selected image waits until the panel is shown. The chart is drawn once per selection,
also when shown (charts draw nothing while hidden).
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from workbench.charts.probabilities import ProbabilityChart
from workbench.widgets.heatmap import HeatmapOverlay
from workbench.widgets.fit import text_scroller
from workbench.widgets.when_shown import WhenShown
from workbench.workers.qimages import image_to_qimage
from workbench.workers.gallery_images import PreviewWorker
from workbench.workers.job_runner import JobRunner


class _ScaledImage(QLabel):
    """A label that asks its owner to rescale the pixmap whenever it is resized (the
    splitter inside ImageDetail resizes it without resizing ImageDetail)."""

    def __init__(self, text: str, on_resize):
        super().__init__(text)
        self._on_resize = on_resize

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._on_resize()


class ImageDetail(QWidget):
    """Large view of the selected image plus its probability bar chart."""

    def __init__(self, empty_hint: str = "Select an image to see it here", parent=None):
        super().__init__(parent)
        self._runner = JobRunner(self)
        self._when_shown = WhenShown(self)   # the preview's decode, while hidden
        self._pixmap: QPixmap | None = None
        self._item: dict | None = None
        self.faces: list | None = None
        self.image_label = _ScaledImage(empty_hint, self._rescale)
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setWordWrap(True)
        self.image_label.setMinimumSize(160, 160)
        self.image_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.image_label.setStyleSheet("color: palette(mid);")
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.chart = ProbabilityChart()
        # Grad-CAM over the image (enabled once a run is set with set_run()).
        self.heatmap = HeatmapOverlay(self)
        self.heatmap.changed.connect(self._rescale)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.image_label, 1)
        tl.addWidget(self.heatmap.controls)
        tl.addWidget(self.heatmap.note)
        # A long caption (the unknown check's reasons, a face line) scrolls rather than
        # raising the panel's minimum height past a 640-pixel window.
        caption_box = text_scroller(self.caption)
        # Four lines: "True: Sandal · Predicted: Sneaker (82.5%)" wraps in a narrow column,
        # then the file name and the unknown check's verdict (two lines cut them at 1024x640).
        caption_box.setMinimumHeight(self.caption.fontMetrics().lineSpacing() * 4 + 4)
        tl.addWidget(caption_box)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.chart)
        self.splitter.setSizes([300, 220])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    def set_run(self, run_dir: str | None) -> None:
        """The run whose model the heatmap explains (None: heatmaps off)."""
        self.heatmap.set_run(run_dir)

    def show_item(self, item: dict, classes: list[str], dataset=None,
                  detect_faces: bool = False) -> None:
        """Show ``item`` (``path``, ``probabilities``, optional ``true_index``,
        ``caption``, ``faces``) large; decode it in the background."""
        self._item = item
        self.faces = item.get("faces")
        self._pixmap = None
        self.image_label.setText("Loading…")
        self.image_label.setPixmap(QPixmap())
        self._set_caption()
        probs = item.get("probabilities")
        if probs is not None and len(probs) == len(classes):
            self.chart.set_probabilities(classes, probs, item.get("true_index"))
        else:
            self.chart.reset()
        self.heatmap.set_item(item, classes, dataset)
        self._runner.cancel()   # an older item's preview must not land on this one
        path, faces = item.get("path", ""), detect_faces and self.faces is None
        self._when_shown.run("preview", lambda: self._runner.start(
            PreviewWorker(path, 640, dataset, detect_faces=faces),
            finished=self._on_preview, failed=self._on_failed))

    def update_caption(self, path: str, caption: str) -> None:
        """Replace the caption of the shown item if it is ``path`` (a late worker result)."""
        if self._item is not None and self._item.get("path") == path:
            self._item["caption"] = caption
            self._set_caption()

    def clear(self, hint: str = "Select an image to see it here") -> None:
        self._runner.cancel()
        self._when_shown.cancel()
        self._item, self._pixmap, self.faces = None, None, None
        self.image_label.setPixmap(QPixmap())
        self.image_label.setText(hint)
        self.caption.setText("")
        self.chart.reset()
        self.heatmap.set_item(None, self.heatmap.classes)

    def pending_work(self) -> bool:
        """Running work; a hidden view's waiting preview is not pending (see WhenShown)."""
        return (self._runner.busy() or self.heatmap.pending_work()
                or (self._when_shown.waiting() and self.isVisible()))

    def preview_waiting(self) -> bool:
        """True while the shown item's image waits for the view to be shown."""
        return self._when_shown.waiting("preview")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._when_shown.shown()

    def shutdown(self) -> None:
        self._when_shown.cancel()
        self._runner.shutdown()
        self.heatmap.shutdown()
        self.chart.shutdown()

    def _on_preview(self, result: dict) -> None:
        if self._item is None or result.get("path") != self._item.get("path"):
            return
        if result.get("faces") is not None:
            self.faces = result["faces"]
            self._item["faces"] = self.faces
        if result.get("image") is None:
            self.image_label.setText(result.get("error") or "Image not available")
        else:
            self._pixmap = QPixmap.fromImage(image_to_qimage(result["image"]))
            self._draw_faces()
            self._rescale()
        self._set_caption()

    def _on_failed(self, message: str) -> None:
        self.image_label.setText(message)

    def _draw_faces(self) -> None:
        if not self.faces or self._pixmap is None:
            return
        w, h = self._pixmap.width(), self._pixmap.height()
        painter = QPainter(self._pixmap)
        painter.setPen(QPen(QColor(255, 40, 40), max(2, w // 160)))
        for x, y, fw, fh in self.faces:
            painter.drawRect(QRectF(x * w, y * h, fw * w, fh * h))
        painter.end()

    def _set_caption(self) -> None:
        item = self._item or {}
        text = item.get("caption", "")
        if self.faces is not None:
            n = len(self.faces)
            face = (f"Human face detected ({n})" if n > 1 else "Human face detected") if n \
                else "No human face found"
            text = f"{text}\n{face}" if text else face
        self.caption.setText(text)

    def _rescale(self) -> None:
        if self._pixmap is None:
            return
        size = self.image_label.size()
        pm = self.heatmap.compose(self._pixmap)
        # Small images (16x16, 28x28) are enlarged without smoothing so pixels stay sharp.
        mode = (Qt.TransformationMode.FastTransformation if pm.width() < size.width() // 2
                else Qt.TransformationMode.SmoothTransformation)
        self.image_label.setPixmap(pm.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, mode))
