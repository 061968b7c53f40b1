"""The Classify panel's run picker: the saved runs (listed off the GUI thread), exported
model files chosen with "Model file…", and following the app's current run and the run
folders that change on disk.

``RunPicker`` is a part of ``ClassifyPanel`` (``workbench/panels/classify.py``, which
derives from it): which model answers is apart from classifying photos with it. It uses
the panel's ``run_combo`` (``classify_layout.py``) and ``coverage`` and the job runner
the panel makes for the listing.
"""
from __future__ import annotations

import os

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QFileDialog

from workbench.workers.evaluation import RunsLoader


def same_path(a: str, b: str) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


class RunPicker:
    """The runs and exported models to classify with, and the one chosen."""

    def current_run(self) -> str | None:
        return self.run_combo.currentData()

    def choose_model_file(self, path: str | None = None) -> None:
        """Add an exported model (``.onnx``, ``.tflite``, SavedModel) to the picker, select it."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, "Exported model", self.settings.last_folder("model_file"),
                "Exported models (*.onnx *.tflite saved_model.pb)")
            if not path:
                return
            self.settings.set_last_folder("model_file", path)
        if os.path.basename(path) == "saved_model.pb":
            path = os.path.dirname(path)
        if path not in self._model_files:
            self._model_files.append(path)
        self._add_model_files()
        self.run_combo.setCurrentIndex(self.run_combo.findData(path))

    def _add_model_files(self) -> None:
        for path in self._model_files:
            if self.run_combo.findData(path) < 0:
                parent = os.path.basename(os.path.dirname(path))
                self.run_combo.addItem(f"exported · {os.path.basename(path)} ({parent})", path)

    @Slot()
    def refresh_runs(self) -> None:
        self._runs.start(RunsLoader(), finished=self._on_runs)

    def _on_runs(self, runs: list) -> None:
        # A run made current while the list was being re-read wins over the old choice.
        keep = self._want_run or self.current_run() or self.state.run_dir
        self.run_combo.blockSignals(True)
        self.run_combo.clear()
        for run in reversed(runs):  # newest first
            if run.get("status") == "invalid":
                continue
            acc = run.get("test_accuracy")
            label = f"{run.get('name')} · {run.get('model')}"
            if isinstance(acc, (int, float)):
                label += f" · {acc:.1%}"
            self.run_combo.addItem(label, run.get("path"))
        self._add_model_files()
        if keep and self.run_combo.findData(keep) < 0 and os.path.isdir(keep) \
                and not any(same_path(keep, self.run_combo.itemData(j) or "")
                            for j in range(self.run_combo.count())):
            # The app's run lives outside the runs folder (opened with File → Open run…
            # or --run): list it, rather than silently picking another run.
            self.run_combo.addItem(os.path.basename(keep.rstrip("/\\")), keep)
        i = self.run_combo.findData(keep) if keep else -1
        if i < 0 and keep:
            i = next((j for j in range(self.run_combo.count())
                      if same_path(keep, self.run_combo.itemData(j) or "")), -1)
        if i >= 0 and keep == self._want_run:
            self._want_run = None
        self.run_combo.setCurrentIndex(i if i >= 0 else 0)
        self.run_combo.blockSignals(False)
        self._update_controls()

    @Slot(str)
    def _on_run_changed(self, run_dir: str) -> None:
        i = self.run_combo.findData(run_dir)
        if i >= 0:
            self._want_run = None
            self.run_combo.setCurrentIndex(i)
        else:
            self._want_run = run_dir or None
            self.refresh_runs()

    @Slot(str, list)
    def _on_run_files_changed(self, run_dir: str, _names: list) -> None:
        """A run folder changed on disk: the shown run may have a new unknown rule."""
        current = self.current_run()
        if current and same_path(run_dir, current):
            self.coverage.load_run(current)   # re-reads only when unknown.json changed
