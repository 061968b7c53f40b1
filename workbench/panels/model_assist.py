"""The Model panel's helpers for good results out of the box: the "Auto" choice and its
explanation, the guard-rail warnings, the pretrained-weights box and the augmentation
preview. Kept apart from ``model.py`` so the panel itself only wires them in.

- Auto: :func:`training.recipe.auto.auto_choice` in the compute service (``auto``); the chosen spec is named
  ``auto_<template>``, which is how a saved or restored spec is still shown as Auto (and
  re-chosen when a *different* dataset opens).
- Guard rails: :func:`training.recipe.guardrails.check_setup` on every edit (plain Python, well
  under a millisecond); random backbone weights with freeze ticked get freeze unticked,
  with the reason (:func:`training.recipe.guardrails.apply_fixes`).
- Augmentation preview: recomputed 400 ms after the augmentation, input or dataset
  changed, only while the panel is visible (a request to the compute service, which
  runs the spec's own augmentation layer).
"""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QLabel

from workbench.widgets.aug_preview import AugPreview
from workbench.widgets.error_details import error_html
from workbench.widgets.weights_box import WeightsBox
from workbench.compute.requests import AugPreviewJob, AutoChoiceJob
from workbench.workers.job_runner import JobRunner

log = logging.getLogger(__name__)
AUTO_PREFIX = "auto_"
# Auto's reasons name this button when ImageNet weights would change its choice
# (training.recipe.auto): only then does the weights box show for Auto.
WEIGHTS_HINT = "Download ImageNet weights"
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
        self.weights_missing = False   # the spec names ImageNet weights not in the cache
        self._auto = JobRunner(self)
        self._auto_dataset: str | None = None
        self._auto_explicit = False            # the running choice was asked for by the person
        # Augmentation previews can't be interrupted: a change while one runs queues one rerun.
        self._previews = JobRunner(self)
        self._preview_key = None     # the settings and dataset the preview should show
        self._shown_key = None       # those its images show (None: a message, or nothing)
        self._job_key = None         # those the running preview job was made with
        self._preview_timer = QTimer(self, singleShot=True, interval=400)
        self._preview_timer.timeout.connect(self._run_preview)

    # -- Auto ---------------------------------------------------------------------------
    def choose_auto(self, explicit: bool = False) -> None:
        """Runs the Auto choice for the open dataset (a message when none is open).
        ``explicit``: the person picked Auto just now, so its epochs replace whatever the
        previous template had (they asked Auto to decide)."""
        self._auto_explicit = explicit
        index = self.state.dataset
        if index is None:
            self.explanation = ("Open a dataset first: Auto picks the model from its images. "
                                "Until then this is the CNN template.")
            from training.recipe.auto import placeholder

            self.state.set_model_spec(placeholder())
            return
        self.explanation = "Choosing a model from the data…"
        self.panel.template_desc.setText(self.explanation)
        self._auto_dataset = _key(index)
        self._auto.start(AutoChoiceJob(index), finished=self._auto_done, failed=self._auto_failed)

    def cancel_auto(self) -> None:
        """Another template was chosen: a running Auto choice must not replace it."""
        self._auto.cancel()

    def _auto_done(self, result: dict) -> None:
        from training.models import ModelSpec

        self.explanation = " ".join(result["reasons"])
        self._apply_auto_epochs(result.get("epochs"), force=self._auto_explicit)
        self.state.set_model_spec(ModelSpec.from_dict(result["spec"]))  # reloads the forms

    def _apply_auto_epochs(self, epochs, force: bool = False) -> None:
        """Auto's epochs (from the dataset's size) go into the training settings unless the
        person set their own: only a config still at the default, or at Auto's last
        number, is changed; ``force`` (Auto just picked by the person) always changes it."""
        import dataclasses

        from training.recipe.config import TrainConfig

        config = self.state.train_config
        if not epochs or config is None:
            return
        keep = config.epochs not in (TrainConfig().epochs, self.state.auto_epochs) and not force
        if not keep and config.epochs != int(epochs):
            self.state.set_train_config(dataclasses.replace(config, epochs=int(epochs)))
        self.state.auto_epochs = int(epochs)

    def _auto_failed(self, message: str) -> None:
        self.explanation = f"Auto could not read the dataset: {message}"
        self.panel.template_desc.setText(error_html(self.explanation, color=None))

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
            text = self.explanation or AUTO_HELP
            config = self.state.train_config
            auto = self.state.auto_epochs
            if auto and config is not None and config.epochs != auto:
                # Auto's sentence names its own number; say which one training will use.
                text += (f" You set {config.epochs} epochs instead (Training settings); "
                         "choose Auto again to use its number.")
            return text
        return default

    # -- guard rails --------------------------------------------------------------------
    def spec_edited(self) -> bool:
        """After one of the panel's own edits: apply fixes (True when the spec changed)."""
        from training.recipe.guardrails import apply_fixes

        fixes = apply_fixes(self.state.model_spec, self.state.train_config)
        if fixes:
            self.notes = [f.message for f in fixes]
        self.refresh()
        return bool(fixes)

    def refresh(self) -> None:
        """Recomputes the warnings, the weights box target and (later) the preview."""
        from training.recipe.guardrails import check_setup

        spec, config, index = self.state.model_spec, self.state.train_config, self.state.dataset
        if spec is None or config is None:
            return
        counts = index.counts() if index is not None else None
        self.advice = check_setup(spec, config, counts)
        lines = [f"<span style='color:#2e7d32'>✔ {_esc(n)}</span>" for n in self.notes]
        lines += [f"<span style='color:{'#a61b0f' if a.level == 'error' else '#9a5b00'}'>⚠ "
                  f"{_esc(a.message)}</span>" for a in self.advice]
        from training.models.backbones import missing_weights

        self.weights_missing = bool(missing_weights(spec))
        if self.weights_missing:   # the summary builds with random weights; training would not
            lines.append("<span style='color:#a61b0f'>⚠ Training can't start until the ImageNet "
                         "weights are in the Keras cache: download them (Pretrained weights, "
                         "below), choose a weights file, or use random weights.</span>")
        self.advice_label.setText("<br>".join(lines))
        self.advice_label.setVisible(bool(lines))
        bb = spec.backbone
        if bb is not None and bb.weights == "imagenet":
            self.weights_box.set_target(bb.name, spec.input_size, bb.alpha)
        else:
            self.weights_box.set_target(None)
        # The box is for a model that uses ImageNet weights, or for Auto when it says the
        # weights would let it pick transfer learning (its reasons name the button); an
        # MLP, a CNN or an Auto choice that needs none has nothing to download.
        self.weights_box.setVisible(self.weights_box.busy or (bb is not None and bb.weights == "imagenet")
                                    or (is_auto(spec) and WEIGHTS_HINT in self.explanation))
        self.schedule_preview()

    def status_suffix(self) -> str:
        """Appended to the panel's "OK" so a model that builds but can't train well says so."""
        n = len(self.advice) + int(self.weights_missing)
        return f" · <span style='color:#9a5b00'>{n} warning{'s' if n > 1 else ''} above</span>" if n else ""

    def clear_notes(self) -> None:
        self.notes = []

    # -- weights --------------------------------------------------------------------------
    @Slot(str)
    def _weights_downloaded(self, _path: str) -> None:
        self.panel.transfer_form.update_weights_status()
        if is_auto(self.state.model_spec) and self.state.dataset is not None:
            self.choose_auto()   # few photos: Auto can now pick transfer learning
        else:
            self.panel.schedule_summary()  # the summary may now load the weights

    # -- augmentation preview -------------------------------------------------------------
    def schedule_preview(self) -> None:
        spec, index = self.state.model_spec, self.state.dataset
        if index is None:
            self.preview.set_message("Open a dataset to preview augmentation on its images.")
            self._preview_key = self._shown_key = None
            self._previews.cancel()
            return
        if not spec.augmentation.enabled:
            self.preview.set_message("Augmentation is off: tick a change above (flip, rotation, "
                                     "zoom, contrast, shift) to see what training would see.")
            self._preview_key = self._shown_key = None
            self._previews.cancel()
            return
        key = (_key(index), tuple(spec.input_size), spec.color_mode,
               tuple(sorted(spec.augmentation.to_dict().items())))
        if key == self._preview_key:
            return
        self._preview_key = key
        self._previews.cancel()   # its images are of the old settings: drop them
        if self._shown_key is not None and self._shown_key[0] != key[0]:
            # Another dataset: its old images must not stay on screen meanwhile.
            self.preview.set_message("Previewing augmentation on this dataset's images…")
            self._shown_key = None
        if self.panel.isVisible():
            self._preview_timer.start()
        elif self._previews.busy():
            self._run_preview()   # rerun once the running one ends, as when shown

    def shown(self) -> None:
        # A change made while the panel was hidden (another dataset opened on the Dataset
        # panel) left the preview showing the old images: catch up now.
        if self._preview_key is not None and self._preview_key != self._shown_key:
            self._preview_timer.start()

    @Slot()
    def _run_preview(self) -> None:
        spec, index = self.state.model_spec, self.state.dataset
        if index is None or not spec.augmentation.enabled:
            return
        self._previews.queue(self._preview_worker, finished=self._preview_done,
                             failed=self._preview_failed)

    def _preview_worker(self):
        # Made when the job starts (maybe after a running one ended): the settings of then.
        spec, index = self.state.model_spec, self.state.dataset
        self._job_key = self._preview_key
        return AugPreviewJob(index, spec.augmentation.to_dict(), spec.input_size, spec.color_mode)

    def _preview_done(self, images) -> None:
        self.preview.set_images(images)
        self._shown_key = self._job_key

    def _preview_failed(self, message: str) -> None:
        self.preview.set_message(error_html(f"Preview failed: {message}", color=None))

    # -- panel protocol -------------------------------------------------------------------
    def pending_work(self) -> bool:
        return (self._auto.busy() or self._previews.busy()
                or self._preview_timer.isActive() or self.weights_box.busy)

    def shutdown(self) -> None:
        self._preview_timer.stop()
        self._auto.shutdown(30_000)
        self._previews.shutdown(30_000)
        self.weights_box.shutdown()


def _key(index) -> str:
    return os.path.abspath(str(getattr(index, "root", "") or id(index)))


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
