"""Forms of the Model panel bound to the core dataclasses: input, augmentation,
transfer (backbone) and training settings. Each ``load(obj)`` shows an object and each
edit writes straight into it, then emits ``edited`` (widgets keep no second copy)."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QGroupBox, QHBoxLayout, QLabel, QSpinBox)

from training.models.spec import COLOR_MODES, FLIP_MODES, HORIZONTAL_FLIPS
from training.recipe.config import LR_SCHEDULES, OPTIMIZERS
from workbench.widgets.wrap import breakable


class _Form(QGroupBox):
    edited = Signal()

    def __init__(self, title: str, parent=None):
        super().__init__(title, parent)
        self.form = QFormLayout(self)
        # A narrow settings column (1280x800 with a transfer template) puts a field under
        # its label instead of clipping it or widening the column.
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self._obj = None
        self._loading = False

    def _write(self, attr: str, value) -> None:
        if self._loading or self._obj is None:
            return
        setattr(self._obj, attr, value)
        self.edited.emit()


def _dspin(lo: float, hi: float, step: float, decimals: int = 2) -> QDoubleSpinBox:
    w = QDoubleSpinBox()
    w.setRange(lo, hi)
    w.setSingleStep(step)
    w.setDecimals(decimals)
    return w


class InputForm(_Form):
    """``ModelSpec.input_size`` and ``color_mode``. The dataset's suggestion is a hint with
    a "Use it" link (``useSuggestion``) when the spec differs from it."""

    useSuggestion = Signal()

    def __init__(self, parent=None):
        super().__init__("Input", parent)
        self.height = QSpinBox(minimum=8, maximum=1024)
        self.width = QSpinBox(minimum=8, maximum=1024)
        size = QHBoxLayout()
        size.addWidget(self.height)
        size.addWidget(QLabel("×"))
        size.addWidget(self.width)
        self.color = QComboBox()
        self.color.addItems(list(COLOR_MODES))
        self.note = QLabel()
        self.note.setStyleSheet("color:#666;")
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.RichText)
        self.note.linkActivated.connect(lambda _link: self.useSuggestion.emit())
        self.form.addRow("Size (h × w)", size)
        self.form.addRow("Colour mode", self.color)
        self.form.addRow(self.note)
        self.height.valueChanged.connect(self._size_changed)
        self.width.valueChanged.connect(self._size_changed)
        self.color.currentTextChanged.connect(lambda v: self._write("color_mode", v))

    def load(self, spec, suggestion=None) -> None:
        self._loading = True
        self._obj = spec
        self.height.setValue(int(spec.input_size[0]))
        self.width.setValue(int(spec.input_size[1]))
        self.color.setCurrentText(spec.color_mode)
        self._loading = False
        if suggestion:
            (h, w), mode = suggestion
            same = (tuple(spec.input_size), spec.color_mode) == ((int(h), int(w)), mode)
            self.note.setText(f"Suggested for this dataset: {h} × {w}, {mode}"
                              + (" (in use)." if same else
                                 ". <a href='use-suggestion'>Use it</a>"))
        else:
            self.note.setText("Open a dataset to get a suggested size.")

    def _size_changed(self) -> None:
        self._write("input_size", (self.height.value(), self.width.value()))


class AugmentationForm(_Form):
    """``ModelSpec.augmentation``: random changes during training only."""

    def __init__(self, parent=None):
        super().__init__("Augmentation (training only)", parent)
        self.flip = QComboBox()
        self.flip.addItems(list(FLIP_MODES))
        self.flip.currentTextChanged.connect(self._flip_changed)
        self.form.addRow("Flip", self.flip)
        # Flip test-time augmentation (training.models.tta): only with horizontal flips.
        self.tta = QCheckBox("Also predict on the mirror image")
        self.tta.toggled.connect(lambda on: self._write("test_time_flip", bool(on)))
        self.form.addRow("", self.tta)
        self.spins = {}
        for name, high, label in (("rotation", 0.5, "Rotation (turns)"), ("zoom", 0.9, "Zoom"),
                                  ("contrast", 1.0, "Contrast"), ("translation", 0.5, "Shift")):
            box = QCheckBox()
            spin = _dspin(0.0, high, 0.05)
            row = QHBoxLayout()
            row.addWidget(box)
            row.addWidget(spin, 1)
            box.toggled.connect(lambda on, n=name, s=spin: self._toggle(n, s, on))
            spin.valueChanged.connect(lambda v, n=name, b=box: b.isChecked() and self._write(n, float(v)))
            self.spins[name] = (box, spin)
            self.form.addRow(label, row)

    def load(self, aug) -> None:
        self._loading = True
        self._obj = aug
        self.flip.setCurrentText(aug.flip)
        self.tta.setChecked(bool(aug.test_time_flip))
        self.tta.setEnabled(aug.flip in HORIZONTAL_FLIPS)
        for name, (box, spin) in self.spins.items():
            value = float(getattr(aug, name))
            box.setChecked(value > 0)
            spin.setEnabled(value > 0)
            spin.setValue(value if value > 0 else 0.1)
        self._loading = False

    def _flip_changed(self, mode: str) -> None:
        self.tta.setEnabled(mode in HORIZONTAL_FLIPS)
        self._write("flip", mode)

    def _toggle(self, name: str, spin: QDoubleSpinBox, on: bool) -> None:
        spin.setEnabled(on)
        self._write(name, float(spin.value()) if on else 0.0)


class TransferForm(_Form):
    """``ModelSpec.backbone`` (weights, freeze, fine-tune-from) plus the fine-tune phase
    settings of ``TrainConfig`` (epochs, learning rate)."""

    def __init__(self, parent=None):
        super().__init__("Transfer learning", parent)
        self.config = None
        self.backbone_label = QLabel()
        self.weights = QComboBox()
        self.weights.addItems(["ImageNet (local Keras cache)", "Weights file…", "Random"])
        # Its longest item made the form ~10 px wider than the settings column at 1024x640
        # (a horizontal scroll bar under every transfer template): let it shrink and elide.
        self.weights.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.weights.setMinimumContentsLength(14)
        self.weights.activated.connect(self._weights_chosen)
        self.weights_status = QLabel()
        self.weights_status.setWordWrap(True)
        self.freeze = QCheckBox("Freeze the backbone")
        self.freeze.setToolTip("Train only the new head; the pretrained features stay as they are.")
        self.freeze.toggled.connect(lambda on: self._write("trainable", not on))
        self.fine_tune = QCheckBox("Fine-tune from layer")
        self.fine_from = QSpinBox(minimum=0, maximum=1000, value=100)
        ft = QHBoxLayout()
        ft.addWidget(self.fine_tune)
        ft.addWidget(self.fine_from, 1)
        self.fine_tune.toggled.connect(self._fine_tune_changed)
        self.fine_from.valueChanged.connect(self._fine_tune_changed)
        self.ft_epochs = QSpinBox(minimum=0, maximum=1000)
        self.ft_lr = _dspin(1e-7, 1.0, 1e-5, decimals=7)
        self.ft_epochs.valueChanged.connect(lambda v: self._write_config("fine_tune_epochs", int(v)))
        self.ft_lr.valueChanged.connect(lambda v: self._write_config("fine_tune_lr", float(v)))
        self.form.addRow("Backbone", self.backbone_label)
        self.form.addRow("Weights", self.weights)
        self.form.addRow(self.weights_status)
        self.form.addRow(self.freeze)
        self.form.addRow(ft)
        self.form.addRow("Fine-tune epochs", self.ft_epochs)
        self.form.addRow("Fine-tune learning rate", self.ft_lr)
        self._spec = None

    def load(self, spec, config) -> None:
        self._loading = True
        self._spec = spec
        self._obj = spec.backbone
        self.config = config
        bb = spec.backbone
        self.setVisible(bb is not None)
        if bb is not None:
            self.backbone_label.setText(_backbone_label(bb.name))
            self.weights.setCurrentIndex(0 if bb.weights == "imagenet" else
                                         2 if bb.weights == "random" else 1)
            self.freeze.setChecked(not bb.trainable)
            self.fine_tune.setChecked(bb.fine_tune_from is not None)
            self.fine_from.setValue(bb.fine_tune_from or 100)
            self.fine_from.setEnabled(bb.fine_tune_from is not None)
        if config is not None:
            self.ft_epochs.setValue(int(config.fine_tune_epochs))
            self.ft_lr.setValue(float(config.fine_tune_lr))
        self._loading = False
        self.update_weights_status()

    def set_layer_count(self, count: int) -> None:
        """The backbone has ``count`` layers: "fine-tune from" runs 0..count (count: none)."""
        self._loading = True   # a clamped value means the same (no layer unfrozen): no edit
        try:
            self.fine_from.setMaximum(max(1, int(count)))
            self.fine_from.setToolTip(f"The backbone has {count} layers; those from this index "
                                      "on are trained in the fine-tune phase.")
        finally:
            self._loading = False

    def update_weights_status(self) -> None:
        bb = self._obj
        if bb is None:
            return
        if bb.weights == "imagenet":
            try:
                from training.models.backbones import find_cached_weights, imagenet_weights_path

                found = find_cached_weights(bb.name, self._spec.input_size, bb.alpha)
                expected = imagenet_weights_path(bb.name, self._spec.input_size, bb.alpha)
            except Exception as exc:  # noqa: BLE001 - status text only
                found, expected = None, str(exc)
            # Paths break anywhere (workbench.widgets.wrap); the tooltip has them plain.
            self.weights_status.setToolTip(str(found or expected))
            if found:
                self.weights_status.setText(f"<span style='color:#2e7d32'>Found: {breakable(found)}</span>")
            else:
                self.weights_status.setText(
                    f"<span style='color:#a61b0f'>Not in the cache: {breakable(expected)}. Download "
                    "it (Pretrained weights, below), put the file there, choose a weights file, "
                    "or use random weights.</span>")
        elif bb.weights == "random":
            self.weights_status.setText("Random initialisation (no pretrained features).")
        else:
            ok = os.path.isfile(bb.weights)
            colour = "#2e7d32" if ok else "#a61b0f"
            self.weights_status.setToolTip(bb.weights)
            self.weights_status.setText(f"<span style='color:{colour}'>{'File' if ok else 'Missing'}: "
                                        f"{breakable(bb.weights)}</span>")

    def _weights_chosen(self, index: int) -> None:
        if self._obj is None:
            return
        if index == 1:
            from workbench.appstate.settings import Settings

            settings = Settings()
            path, _ = QFileDialog.getOpenFileName(self, "Backbone weights file",
                                                  settings.last_folder("weights"),
                                                  "Keras weights (*.h5 *.weights.h5);;All files (*)")
            if path:
                settings.set_last_folder("weights", path)
            if not path:
                self.load(self._spec, self.config)
                return
            self._write("weights", path)
        else:
            self._write("weights", "imagenet" if index == 0 else "random")
        self.update_weights_status()

    def _fine_tune_changed(self) -> None:
        self.fine_from.setEnabled(self.fine_tune.isChecked())
        self._write("fine_tune_from", self.fine_from.value() if self.fine_tune.isChecked() else None)

    def _write_config(self, attr: str, value) -> None:
        if not self._loading and self.config is not None:
            setattr(self.config, attr, value)
            self.edited.emit()


def _backbone_label(name: str) -> str:
    try:
        from training.models import BACKBONES

        return BACKBONES[name].label
    except Exception:  # noqa: BLE001
        return name


MIXED_PRECISION_CHOICES = (("auto (on a GPU, off on a CPU)", "auto"), ("on (GPU only)", True),
                           ("off", False))


class TrainingForm(_Form):
    """``TrainConfig``: optimizer, learning rate, batch size, epochs, early stopping."""

    def __init__(self, parent=None):
        super().__init__("Training", parent)
        self.optimizer = QComboBox()
        self.optimizer.addItems(list(OPTIMIZERS))
        self.lr = _dspin(1e-6, 1.0, 1e-4, decimals=6)
        self.batch = QSpinBox(minimum=1, maximum=4096)
        self.epochs = QSpinBox(minimum=1, maximum=10000)
        self.early = QCheckBox("Early stopping, patience")
        self.patience = QSpinBox(minimum=0, maximum=1000)
        es = QHBoxLayout()
        es.addWidget(self.early)
        es.addWidget(self.patience, 1)
        self.form.addRow("Optimizer", self.optimizer)
        self.form.addRow("Learning rate", self.lr)
        self.schedule = QComboBox()
        self.schedule.addItems(list(LR_SCHEDULES))
        self.schedule.setToolTip("; ".join(f"{name}: {what}" for name, what in LR_SCHEDULES.items()))
        self.schedule.currentTextChanged.connect(lambda v: self._write("lr_schedule", v))
        self.form.addRow("Rate schedule", self.schedule)
        self.form.addRow("Batch size", self.batch)
        # Several GPUs (training.fit.distributed): "one", "all", or a list typed in.
        self.devices = QComboBox()
        self.devices.setEditable(True)
        self.devices.addItems(["one", "all"])
        self.devices.setToolTip("one: a single device. all: every GPU (MirroredStrategy). Or "
                                "a list such as GPU:0,GPU:1. The batch size is then per device: "
                                "the global batch is batch size x devices; the learning rate is "
                                "not scaled (docs/DISTRIBUTED.md).")
        self.devices.currentTextChanged.connect(
            lambda v: self._write("devices", v.strip() or "one"))
        self.form.addRow("Devices", self.devices)
        # TrainConfig.mixed_precision: "auto" (float16 compute on a GPU, float32 on a CPU,
        # where float16 is emulated and slower), or forced on / off.
        self.mixed = QComboBox()
        for label, value in MIXED_PRECISION_CHOICES:
            self.mixed.addItem(label, value)
        self.mixed.setToolTip("Mixed precision: float16 compute with float32 weights. About "
                              "twice as fast on recent NVIDIA GPUs and half the memory; a CPU "
                              "gains nothing, so auto uses it on a GPU only. The Training "
                              "panel's device line says when a run uses it.")
        self.mixed.currentIndexChanged.connect(
            lambda i: self._write("mixed_precision", self.mixed.itemData(i)))
        self.form.addRow("Mixed precision", self.mixed)
        self.form.addRow("Epochs", self.epochs)
        self.form.addRow(es)
        from workbench.widgets.class_weight_field import ClassWeightField

        self.class_weight = ClassWeightField()
        self.form.addRow("Class weights", self.class_weight)
        self.class_weight.changed.connect(lambda v: self._write("class_weight", v))
        self.optimizer.currentTextChanged.connect(lambda v: self._write("optimizer", v))
        self.lr.valueChanged.connect(lambda v: self._write("learning_rate", float(v)))
        self.batch.valueChanged.connect(lambda v: self._write("batch_size", int(v)))
        self.epochs.valueChanged.connect(lambda v: self._write("epochs", int(v)))
        self.early.toggled.connect(self._early_changed)
        self.patience.valueChanged.connect(lambda v: self._write("patience", int(v)))

    def load(self, config) -> None:
        self._loading = True
        self._obj = config
        self.optimizer.setCurrentText(config.optimizer)
        self.lr.setValue(float(config.learning_rate))
        self.schedule.setCurrentText(config.lr_schedule)
        self.batch.setValue(int(config.batch_size))
        self.devices.setCurrentText(getattr(config, "devices", "one"))
        values = [v for _, v in MIXED_PRECISION_CHOICES]
        mixed = getattr(config, "mixed_precision", "auto")
        self.mixed.setCurrentIndex(values.index(mixed) if mixed in values else 0)
        self.epochs.setValue(int(config.epochs))
        self.early.setChecked(bool(config.early_stopping))
        self.patience.setValue(int(config.patience))
        self.patience.setEnabled(bool(config.early_stopping))
        self.class_weight.load(getattr(config, "class_weight", None))
        self._loading = False

    def _early_changed(self, on: bool) -> None:
        self.patience.setEnabled(on)
        self._write("early_stopping", bool(on))


