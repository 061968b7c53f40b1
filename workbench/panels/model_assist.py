"""The Model panel's helpers for good results out of the box: the "Auto" choice and its
explanation, the guard-rail warnings, the pretrained-weights box and the augmentation
preview. Kept apart from ``model.py`` so the panel itself only wires them in.

- Auto: :func:`training.automodel.auto_choice` in a worker; the chosen spec is named
  ``auto_<template>``, which is how a saved or restored spec is still shown as Auto (and
  re-chosen when a *different* dataset opens).
- Guard rails: :func:`training.guardrails.check_setup` on every edit (plain Python, well
  under a millisecond); random backbone weights with freeze ticked get freeze unticked,
  with the reason (:func:`training.guardrails.apply_fixes`).
- Augmentation preview: recomputed 400 ms after the augmentation, input or dataset
  changed, only while the panel is visible (TensorFlow, through the tfload lock, in a
  worker).
"""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QLabel

from workbench.widgets.aug_preview import AugPreview
from workbench.widgets.weights_box import WeightsBox
from workbench.workers.aug_preview import AugPreviewWorker
from workbench.workers.auto_model import AutoChoiceWorker
from workbench.workers.jobs import Job

log = logging.getLogger(__name__)
AUTO_PREFIX = "auto_"
AUTO_HELP = ("Picks the template, input size and augmentation from your images (their size, "
             "number and colour) and says why.")


def is_auto(spec) -> bool:
    return spec is not None and str(spec.name).startswith(AUTO_PREFIX)


class ModelAssist(QObject):
    def __init__(self, panel):
        super().__init__(panel)
        self.panel, self.state = panel, panel.state
        self.preview = AugPreview()
        self.weights_box = WeightsBox()
        self.weights_box.downloaded.connect(self._weights_downloaded)
        self.advice_label = QLabel()
        self.advice_label.setWordWrap(True)
        self.advice_label.setObjectName("guardRails")
        self.advice: list = []
        self.notes: list = []          # what apply_fixes changed, shown until the next change
        self.explanation = ""
        self._auto_job: Job | None = None
        self._auto_dataset: str | None = None
        self._preview_job: Job | None = None
        self._preview_key = None
        self._preview_again = False
        self._preview_timer = QTimer(self, singleShot=True, interval=400)
        self._preview_timer.timeout.connect(self._run_preview)

    # -- Auto ---------------------------------------------------------------------------
    def choose_auto(self) -> None:
        """Runs the Auto choice for the open dataset (a message when none is open)."""
        index = self.state.dataset
        if index is None:
            self.explanation = ("Open a dataset first: Auto picks the model from its images. "
                                "Until then this is the CNN template.")
            from training.automodel import placeholder

            self.state.set_model_spec(placeholder())
            return
        if self._auto_job is not None:
            self._auto_job.cancel()
        self.explanation = "Choosing a model from the data…"
        self.panel.template_desc.setText(self.explanation)
        self._auto_dataset = _key(index)
        self._auto_job = Job(AutoChoiceWorker(index), self, on_finished=self._auto_done,
                             on_failed=self._auto_failed, on_done=self._auto_finished)

    def cancel_auto(self) -> None:
        """Another template was chosen: a running Auto choice must not replace it."""
        if self._auto_job is not None:
            self._auto_job.cancel()

    def _auto_done(self, job, result: dict) -> None:
        if job.cancelled:
            return
        from training.models import ModelSpec

        self.explanation = " ".join(result["reasons"])
        self.state.set_model_spec(ModelSpec.from_dict(result["spec"]))  # reloads the forms

    def _auto_failed(self, job, message: str) -> None:
        if not job.cancelled:
            self.explanation = f"Auto could not read the dataset: {message}"
            self.panel.template_desc.setText(self.explanation)

    def _auto_finished(self, job) -> None:
        if job is self._auto_job:
            self._auto_job = None
        job.deleteLater()

    def dataset_changed(self) -> bool:
        """Re-runs Auto when a different dataset opened and Auto is chosen; True if it did."""
        if is_auto(self.state.model_spec) and self.state.dataset is not None \
                and _key(self.state.dataset) != self._auto_dataset:
            self.choose_auto()
            return True
        self.refresh()
        return False

    def description(self, default: str) -> str:
        if is_auto(self.state.model_spec):
            return self.explanation or AUTO_HELP
        return default

    # -- guard rails --------------------------------------------------------------------
    def spec_edited(self) -> bool:
        """After one of the panel's own edits: apply fixes (True when the spec changed)."""
        from training.guardrails import apply_fixes

        fixes = apply_fixes(self.state.model_spec, self.state.train_config)
        if fixes:
            self.notes = [f.message for f in fixes]
        self.refresh()
        return bool(fixes)

    def refresh(self) -> None:
        """Recomputes the warnings, the weights box target and (later) the preview."""
        from training.guardrails import check_setup

        spec, config, index = self.state.model_spec, self.state.train_config, self.state.dataset
        if spec is None or config is None:
            return
        counts = index.counts() if index is not None else None
        self.advice = check_setup(spec, config, counts)
        lines = [f"<span style='color:#2e7d32'>✔ {_esc(n)}</span>" for n in self.notes]
        lines += [f"<span style='color:{'#a61b0f' if a.level == 'error' else '#9a5b00'}'>⚠ "
                  f"{_esc(a.message)}</span>" for a in self.advice]
        self.advice_label.setText("<br>".join(lines))
        self.advice_label.setVisible(bool(lines))
        bb = spec.backbone
        if bb is not None and bb.weights == "imagenet":
            self.weights_box.set_target(bb.name, spec.input_size, bb.alpha)
        else:
            self.weights_box.set_target(None)
        self.schedule_preview()

    def status_suffix(self) -> str:
        """Appended to the panel's "OK" so a model that builds but can't train well says so."""
        n = len(self.advice)
        return f" · <span style='color:#9a5b00'>{n} warning{'s' if n > 1 else ''} above</span>" if n else ""

    def clear_notes(self) -> None:
        self.notes = []

    # -- weights --------------------------------------------------------------------------
    @Slot(str)
    def _weights_downloaded(self, _path: str) -> None:
        self.panel.transfer_form.update_weights_status()
        self.panel._schedule()  # the summary may now load the weights

    # -- augmentation preview -------------------------------------------------------------
    def schedule_preview(self) -> None:
        spec, index = self.state.model_spec, self.state.dataset
        if index is None:
            self.preview.set_message("Open a dataset to preview augmentation on its images.")
            self._preview_key = None
            return
        if not spec.augmentation.enabled:
            self.preview.set_message("Augmentation is off: tick a change above (flip, rotation, "
                                     "zoom, contrast, shift) to see what training would see.")
            self._preview_key = None
            return
        key = (_key(index), tuple(spec.input_size), spec.color_mode,
               tuple(sorted(spec.augmentation.to_dict().items())))
        if key == self._preview_key:
            return
        self._preview_key = key
        if self.panel.isVisible():
            self._preview_timer.start()

    def shown(self) -> None:
        if self._preview_key is not None and not self.preview.cells:
            self._preview_timer.start()

    @Slot()
    def _run_preview(self) -> None:
        if self._preview_job is not None:
            self._preview_again = True
            return
        spec, index = self.state.model_spec, self.state.dataset
        if index is None or not spec.augmentation.enabled:
            return
        worker = AugPreviewWorker(index, spec.augmentation.to_dict(), spec.input_size, spec.color_mode)
        self._preview_job = Job(worker, self, on_finished=self._preview_done,
                                on_failed=self._preview_failed, on_done=self._preview_finished)
        self._preview_job.key = self._preview_key

    def _preview_done(self, job, result: dict) -> None:
        if job.key == self._preview_key:
            self.preview.set_images(result)

    def _preview_failed(self, job, message: str) -> None:
        if job.key == self._preview_key:
            self.preview.set_message(f"Preview failed: {message}")

    def _preview_finished(self, job) -> None:
        if job is self._preview_job:
            self._preview_job = None
        job.deleteLater()
        if self._preview_again or (self._preview_key is not None and job.key != self._preview_key):
            self._preview_again = False
            self._run_preview()

    # -- panel protocol -------------------------------------------------------------------
    def pending_work(self) -> bool:
        return (self._auto_job is not None or self._preview_job is not None
                or self._preview_timer.isActive() or self.weights_box.busy)

    def shutdown(self) -> None:
        self._preview_timer.stop()
        for job in (self._auto_job, self._preview_job):
            if job is not None:
                job.stop_and_wait(30_000)
        self._auto_job = self._preview_job = None
        self.weights_box.shutdown()


def _key(index) -> str:
    return os.path.abspath(str(getattr(index, "root", "") or id(index)))


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
