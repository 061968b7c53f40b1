"""The "Export model…" dialog: formats, quantization, destination, progress, parity table.

The export runs in the compute service (:class:`~workbench.compute.requests.ExportJob`:
TensorFlow and the converters take seconds); Cancel stops it between steps and nothing is written. An
existing destination is replaced only after the user confirms. When it ends, the table
shows each file's size and its agreement with the Keras model, and "Open folder" shows
the files.
"""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDialog, QFileDialog,
                               QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QMessageBox, QProgressBar, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from training.runs.runfolder import SIGNATURE_JSON, RunFolder
from workbench.widgets.error_details import error_html, offer_details
from workbench.compute.requests import ExportJob
from workbench.workers.job_runner import JobRunner

log = logging.getLogger(__name__)

FORMAT_LABELS = (("saved_model", "TensorFlow SavedModel"), ("onnx", "ONNX (onnxruntime)"),
                 ("tflite", "TFLite / LiteRT (builtin ops)"))
QUANT_LABELS = (("", "None (float32)"), ("float16", "float16 weights"),
                ("int8", "int8 (calibrated on training images)"))
DISPLAY_NAMES = {"saved_model": "SavedModel", "onnx": "ONNX", "tflite": "TFLite"}
COLUMNS = ("Format", "File", "Size", "max |Δp|", "mean |Δp|", "Top-1 agreement", "Result")
EMPTY_TABLE = "Choose the formats and a destination, then Export: each file is checked here."


def _fmt(value, pattern: str) -> str:
    return "–" if value is None else pattern.format(value)


class ExportDialog(QDialog):
    """Export ``run_dir``; ``default_dir`` is the destination offered (``RUN/exports``)."""

    def __init__(self, run_dir: str, parent: QWidget | None = None, default_dir: str | None = None):
        super().__init__(parent)
        self.run_dir = run_dir
        self.result: dict | None = None
        self._close_when_done = False
        self._runner = JobRunner(self)
        self.setWindowTitle(f"Export model – {os.path.basename(run_dir)}")
        self._build(default_dir or str(RunFolder(run_dir).exports_dir))

    # ----------------------------------------------------------------- layout
    def _build(self, default_dir: str) -> None:
        self.format_boxes: dict[str, QCheckBox] = {}
        formats = QHBoxLayout()
        for key, label in FORMAT_LABELS:
            box = QCheckBox(label)
            box.setChecked(True)
            box.toggled.connect(self._update_buttons)
            self.format_boxes[key] = box
            formats.addWidget(box)
        formats.addStretch(1)
        self.quantize = QComboBox()
        for key, label in QUANT_LABELS:
            self.quantize.addItem(label, key)
        self.quantize.setToolTip("Also write a smaller TFLite file; it must agree with the "
                                 "Keras model on at least 99 % of the test images")
        self.destination = QLineEdit(default_dir)
        self.destination.textChanged.connect(self._update_buttons)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        dest = QHBoxLayout()
        dest.addWidget(self.destination, 1)
        dest.addWidget(browse)
        form = QFormLayout()
        form.addRow("Formats:", formats)
        form.addRow("TFLite quantization:", self.quantize)
        form.addRow("Destination folder:", dest)

        self.status = QLabel("Every file is run against the Keras model on up to 256 test "
                             "images (most-incorrect first) before it is written.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        offer_details(self.status)
        self.progress = QProgressBar()
        self.progress.hide()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(150)
        self.table_hint = QLabel(EMPTY_TABLE)
        self.table_hint.setWordWrap(True)

        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(lambda: self.start())
        self.cancel_button = QPushButton("Cancel export")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.open_button = QPushButton("Open folder")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_folder)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.table_hint)
        layout.addLayout(buttons)
        self.resize(820, 440)

    # ----------------------------------------------------------------- actions
    def selected_formats(self) -> list[str]:
        return [k for k, box in self.format_boxes.items() if box.isChecked()]

    @Slot()
    def _update_buttons(self) -> None:
        busy = self.busy()
        self.export_button.setEnabled(not busy and bool(self.selected_formats())
                                      and bool(self.destination.text().strip()))
        self.cancel_button.setEnabled(busy)
        tflite = self.format_boxes["tflite"].isChecked()
        self.quantize.setEnabled(tflite and not busy)

    def busy(self) -> bool:
        return self._runner.busy()

    @Slot()
    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into folder", self.destination.text())
        if folder:
            self.destination.setText(folder)

    @Slot()
    def start(self, confirm_replace: bool | None = None) -> bool:
        """Start the export; an existing non-empty destination is replaced only after a
        confirmation (``confirm_replace`` answers it without asking, for tests)."""
        if self.busy():
            return False
        out = self.destination.text().strip()
        formats = self.selected_formats()
        if not out or not formats:
            return False
        force = False
        if os.path.isdir(out) and os.listdir(out):
            if confirm_replace is None:
                answer = QMessageBox.question(
                    self, "Replace the existing export?",
                    f"{out} already holds files. Replace them with the new export? (The old "
                    "files are removed only once the new ones have passed the parity check.)")
                confirm_replace = answer == QMessageBox.StandardButton.Yes
            if not confirm_replace:
                self.status.setText(f"Not exported: {out} already exists. Choose another folder.")
                return False
            force = True
        quant = self.quantize.currentData() if "tflite" in formats else ""
        worker = ExportJob(self.run_dir, formats, out, quant or None, force)
        self.table.setRowCount(0)
        self.table_hint.setText("Exporting…")
        self.open_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.show()
        self._runner.start(worker, finished=self._on_finished, failed=self._on_failed,
                           stopped=self._on_stopped, done=self._on_done,
                           status=self.status.setText, progress=self._on_progress)
        self._update_buttons()
        return True

    @Slot()
    def cancel(self) -> None:
        if self.busy():
            self.status.setText("Cancelling… (the current conversion finishes first)")
            self.cancel_button.setEnabled(False)
            self._runner.request_stop()

    @Slot()
    def open_folder(self) -> None:
        if self.result and os.path.isdir(self.result["out_dir"]):
            if not QDesktopServices.openUrl(QUrl.fromLocalFile(self.result["out_dir"])):
                self.status.setText(f"The files are in {self.result['out_dir']} (no file manager "
                                    "could open it).")

    def reject(self) -> None:
        """Close; a running export is cancelled first (the dialog closes when it ends)."""
        if self.busy():
            self._close_when_done = True
            self.cancel()
            return
        super().reject()

    def shutdown(self) -> None:
        self._runner.shutdown()

    # ----------------------------------------------------------------- results
    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, what: str) -> None:
        if what == "exporting" and total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _on_finished(self, result: dict) -> None:
        self.result = result
        self.show_parity(result.get("artifacts") or [])
        if result.get("error"):
            self.status.setText(f"Not written: {result['error']}")
            self.table_hint.setText("A file disagreed with the Keras model, so nothing was "
                                    "written. The failing row says by how much.")
            return
        self.status.setText(f"Exported {len(result['artifacts'])} file(s) and {SIGNATURE_JSON} to "
                            f"{result['out_dir']}.")
        self.table_hint.setText(f"Parity checked on {result.get('parity_source')}.")
        self.open_button.setEnabled(True)

    def _on_failed(self, message: str) -> None:
        log.warning("Export of %s failed: %s", self.run_dir, message)
        self.status.setText(error_html(f"Export failed: {message}", color=None))
        self.table_hint.setText("Nothing was written.")

    def _on_stopped(self) -> None:
        self.status.setText("Export cancelled; nothing was written.")
        self.table_hint.setText(EMPTY_TABLE)

    def _on_done(self) -> None:
        self.progress.hide()
        self._update_buttons()
        if self._close_when_done:
            self._close_when_done = False
            super().reject()

    def show_parity(self, artifacts: list[dict]) -> None:
        """Fill the parity table: one row per exported file."""
        self.table.setRowCount(len(artifacts))
        for row, a in enumerate(artifacts):
            name = DISPLAY_NAMES.get(a["format"], a["format"]) + (
                f" ({a['quantization']})" if a.get("quantization") else "")
            agreement = _fmt(a.get("top1_agreement"), "{:.1%}")
            if a.get("quantization") and a.get("accuracy_change") is not None:
                agreement += f" (accuracy {a['accuracy_change'] * 100:+.1f} pts)"
            cells = (name, os.path.basename(a.get("path", "")), f"{a.get('bytes', 0) / 1e6:.2f} MB",
                     _fmt(a.get("max_abs_diff"), "{:.1e}"), _fmt(a.get("mean_abs_diff"), "{:.1e}"),
                     agreement, "passed" if a.get("ok") else "FAILED")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == len(cells) - 1:
                    item.setToolTip(a.get("rule", "") if a.get("ok") else a.get("reason", ""))
                    item.setForeground(Qt.GlobalColor.darkGreen if a.get("ok") else Qt.GlobalColor.red)
                self.table.setItem(row, col, item)
