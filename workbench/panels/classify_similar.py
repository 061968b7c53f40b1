"""Classify's "why": the training images a photo resembles (the run's features, nearest
first), under the large view. One request to the compute service (``SimilarJob``) per
press; a run without stored features gets them computed first (once per run)."""
from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from workbench.compute.requests import SimilarJob
from workbench.widgets.image_gallery import ImageGallery
from workbench.workers.job_runner import JobRunner

K = 5


class SimilarStrip(QWidget):
    """A button and a one-row gallery of the ``K`` most similar training images."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.run_dir: str | None = None
        self.path: str | None = None
        self.button = QPushButton("Why: similar training images")
        self.button.setToolTip("The training images this photo resembles most, as the model "
                               "sees them (nearest by its features)")
        self.button.clicked.connect(self.find)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.gallery = ImageGallery("Press the button to see the training images this photo "
                                    "resembles.", thumb_side=64)
        self.gallery.setMaximumHeight(self.gallery.list.gridSize().height() + 12)
        self._runner = JobRunner(self)
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addWidget(self.note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.gallery)
        self.gallery.hide()
        self.set_photo(None, None)

    def set_photo(self, run_dir: str | None, path: str | None) -> None:
        """The photo shown large and the run that classified it (a run folder only)."""
        from training.runs.runfolder import run_of

        run = run_of(run_dir) if run_dir else None   # an exported model: its run's images
        self.run_dir, self.path = (str(run) if run else None), path
        usable = bool(run and path)
        self.button.setEnabled(usable)
        self.note.setText("" if usable or not path else
                          "Similar training images need the run folder this model came from.")
        self.gallery.clear()
        self.gallery.hide()

    @Slot()
    def find(self) -> None:
        if not self.button.isEnabled():
            return
        self.note.setText("Finding similar training images… (the first time, the model looks "
                          "at every training image)")
        self._runner.start(SimilarJob(self.run_dir, [self.path], k=K), finished=self._on_found,
                           failed=self._on_failed)

    def _on_found(self, result: dict) -> None:
        res = (result.get("results") or [{}])[0]
        if res.get("error"):
            self._on_failed(res["error"])
            return
        items = [{"path": n["path"], "lines": [n["label"], f"d = {n['distance']:.3f}"],
                  "caption": f"{n['label']} · distance {n['distance']:.3f}"}
                 for n in res.get("neighbours") or []]
        self.note.setText("The training images it resembles, nearest first (cosine distance "
                          "of the model's features):")
        self.gallery.show()
        self.gallery.set_items(items)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.note.setText(f"Could not find similar images: {message}")

    def pending_work(self) -> bool:
        return self._runner.busy() or self.gallery.pending_work()

    def shutdown(self) -> None:
        self._runner.shutdown()
        self.gallery.shutdown()
