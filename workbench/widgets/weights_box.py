"""The Model panel's "Download ImageNet weights" box: which file, how big, from where,
with progress and cancel. It goes online only when the button is pressed.

The download runs in a :class:`~workbench.workers.weights.WeightsDownloadWorker`; this
widget only shows its progress. ``downloaded(path)`` is emitted when the file is in the
Keras cache, so the panel can refresh what depends on it (the weights status, Auto).
"""
from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from workbench.widgets.error_details import error_html, offer_details
from workbench.widgets.wrap import breakable
from workbench.workers.job_runner import JobRunner
from workbench.workers.weights import WeightsDownloadWorker

log = logging.getLogger(__name__)
DEFAULT_TARGET = ("mobilenet_v2", (96, 96), 1.0)  # what Auto uses for few colour photos


class WeightsBox(QGroupBox):
    downloaded = Signal(str)

    def __init__(self, parent=None):
        super().__init__("Pretrained weights", parent)
        self.target = DEFAULT_TARGET
        self.base_url = None  # None: $WORKBENCH_WEIGHTS_URL or Keras' address
        self._download = JobRunner(self)
        col = QVBoxLayout(self)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.button = QPushButton("Download ImageNet weights")
        self.button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.message = QLabel()
        self.message.setWordWrap(True)
        offer_details(self.message)
        row = QHBoxLayout()
        row.addWidget(self.button, 1)
        row.addWidget(self.cancel_button)
        col.addWidget(self.info)
        col.addLayout(row)
        col.addWidget(self.progress)
        col.addWidget(self.message)
        self._show_idle()

    def file(self):
        from training.models.weights_download import weights_file

        name, size, alpha = self.target
        return weights_file(name, size, alpha, base_url=self.base_url)

    def set_target(self, backbone: str | None, input_size=None, alpha: float = 1.0) -> None:
        """The backbone whose weights the button fetches (MobileNetV2 when the model has none)."""
        target = (backbone, tuple(input_size), float(alpha)) if backbone else DEFAULT_TARGET
        if target != self.target and not self.busy:
            self.target = target
        self._show_idle()

    def _show_idle(self) -> None:
        if self.busy:
            return
        wf = self.file()
        self.progress.hide()
        self.cancel_button.hide()
        self.button.setEnabled(not wf.present)
        if wf.present:
            self.info.setText(f"<span style='color:#2e7d32'>{_esc(wf.describe())}: in the Keras "
                              f"cache</span> ({breakable(_esc(wf.dest))}).")
            self.info.setToolTip(str(wf.dest))
            self.button.setToolTip("Already downloaded.")
        else:
            # Which check a download gets is said in the box itself, not only in a tooltip:
            # MobileNetV2 has no published checksum (training.models.weights_download).
            self.info.setText(f"{_esc(wf.describe())}. Not in the Keras cache yet. The app "
                              f"goes online only when you press the button. Download is "
                              f"{_esc(wf.check_note)}.")
            self.button.setToolTip(f"Downloads {wf.url}\ninto {wf.dest}\n{wf.check_note}")

    def start(self) -> None:
        if self.busy:
            return
        name, size, alpha = self.target
        worker = WeightsDownloadWorker(name, size, alpha, base_url=self.base_url)
        self.button.setEnabled(False)
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.message.setText("Connecting…")
        self._download.start(worker, progress=self._on_progress, finished=self._on_finished,
                             failed=self._on_failed, stopped=self._on_stopped, done=self._show_idle)

    def cancel(self) -> None:
        if self.busy:
            self.cancel_button.setEnabled(False)
            self.message.setText("Cancelling…")
            self._download.request_stop()   # it ends with stopped (or finished: the file is kept)

    @property
    def busy(self) -> bool:
        return self._download.busy()

    def _on_progress(self, done: int, total: int, _what: str) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))
            self.message.setText(f"{done / 1e6:.1f} of {total / 1e6:.1f} MB")
        else:
            self.message.setText(f"{done / 1e6:.1f} MB")

    def _on_finished(self, path) -> None:
        note = self.file().check_note
        self.message.setText(f"<span style='color:#2e7d32'>Saved {breakable(_esc(path))}</span> "
                             f"({_esc(note.split(':')[0])}).")
        self.downloaded.emit(str(path))

    def _on_failed(self, message: str) -> None:
        self.message.setText(error_html(message, color="#a61b0f"))

    def _on_stopped(self) -> None:
        self.message.setText("Download cancelled; nothing was kept.")

    def shutdown(self) -> None:
        self._download.shutdown(10_000)


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
