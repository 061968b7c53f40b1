"""Tooltips for every model and training setting: what it does and typical values.

One table, applied by the Model panel after its forms are built (a widget that already
has a tooltip keeps it). The layer parameters carry their own help in
``training.models.LAYER_TYPES``.
"""
from __future__ import annotations

from PySide6.QtWidgets import QAbstractSpinBox, QCheckBox, QComboBox

from training.recipe.config import OPTIMIZERS
from training.recipe.epoch_budget import SHORT_RUN_STEPS

# (form attribute, widget attribute) -> tooltip
TIPS = {
    ("input_form", "height"): "Image height the network sees; every image is resized to it. "
                              "Typical: 28 for MNIST-like data, 64-128 for photos trained from "
                              "scratch, 224 for pretrained backbones.",
    ("input_form", "width"): "Image width the network sees (see height). Larger sizes keep "
                             "detail but train slower and need more memory.",
    ("input_form", "color"): "grayscale: one channel (digits, clothing, X-rays); rgb: three "
                             "channels (photos). Pretrained backbones need rgb.",
    ("aug_form", "flip"): "Randomly mirror training images. horizontal suits most photos; "
                          "none for digits and text, where a mirror changes the class.",
    ("aug_form", "tta"): "With horizontal flips: every prediction (evaluation, the galleries, "
                         "predict, exports) averages the image and its left-right mirror "
                         "(test-time augmentation; about twice the prediction time). Off by "
                         "default: it gained nothing on the benchmark sets.",
    ("training_form", "optimizer"): "How the weights are updated. " + "; ".join(
        f"{name} {opt.description}" for name, opt in OPTIMIZERS.items()) + ".",
    ("training_form", "lr"): "Step size of each update. Typical: 0.001 for adam from scratch, "
                             "0.0001-0.00001 when fine-tuning a pretrained backbone. Too high: "
                             "the loss jumps or diverges; too low: training crawls.",
    ("training_form", "batch"): "Images per update step. Typical 32-128; larger is faster per "
                                "epoch on a GPU but needs more memory.",
    ("training_form", "epochs"): "Passes over the training images. Typical 10-50 from scratch, "
                                 "3-10 for transfer learning; early stopping ends sooner when "
                                 "validation stops improving.",
    ("training_form", "early"): "Stop when the validation loss has not improved for 'patience' "
                                "epochs, and keep the best weights (with the cosine schedule, "
                                "only once the rate has decayed). A cosine run of at most "
                                f"{SHORT_RUN_STEPS:,} steps always trains to the end and keeps "
                                "its last weights: a small validation split cannot say when "
                                "to stop.",
    ("training_form", "patience"): "Epochs without improvement before early stopping. Typical 3-10.",
    ("transfer_form", "weights"): "Start the backbone from ImageNet weights (best for photos), "
                                  "a weights file, or random weights (slow to train, needs much data).",
    ("transfer_form", "freeze"): "Keep the pretrained backbone fixed and train only the new head: "
                                 "fast and robust for small datasets.",
    ("transfer_form", "fine_tune"): "After the head has trained, also train the backbone from this "
                                    "layer on, at the fine-tune learning rate.",
    ("transfer_form", "fine_from"): "First backbone layer to unfreeze when fine-tuning; higher "
                                    "numbers train fewer, more task-specific layers.",
    ("transfer_form", "ft_epochs"): "Epochs of the fine-tune phase. Typical 3-10; 0 skips it.",
    ("transfer_form", "ft_lr"): "Learning rate for fine-tuning. Keep it small (1e-5 to 1e-4) so "
                                "the pretrained features are not destroyed.",
}
AUGMENT_TIPS = {
    "rotation": "Random rotation, as a fraction of a full turn (0.05 = ±18°). Typical 0.02-0.1.",
    "zoom": "Random zoom in or out by up to this fraction. Typical 0.1-0.2.",
    "contrast": "Random contrast change by up to this fraction. Typical 0.1-0.3.",
    "translation": "Random shift by up to this fraction of the image size. Typical 0.05-0.15.",
}
INPUT_TYPES = (QAbstractSpinBox, QComboBox, QCheckBox)


def apply_tips(panel) -> None:
    """Set the tooltips of the Model panel's forms (see module docstring)."""
    for (form_name, attr), tip in TIPS.items():
        widget = getattr(getattr(panel, form_name, None), attr, None)
        if widget is not None and not widget.toolTip():
            widget.setToolTip(tip)
    for name, (box, spin) in getattr(panel.aug_form, "spins", {}).items():
        tip = AUGMENT_TIPS.get(name, "")
        for w in (box, spin):
            if not w.toolTip():
                w.setToolTip(tip)


def settings_without_tips(panel) -> list[str]:
    """Input widgets of the Model panel's forms that have no tooltip (tests use it)."""
    missing = []
    for form_name in ("input_form", "aug_form", "transfer_form", "training_form"):
        form = getattr(panel, form_name, None)
        if form is None:
            continue
        for w in [w for t in INPUT_TYPES for w in form.findChildren(t)]:
            if not w.toolTip() and not (w.parent() and getattr(w.parent(), "toolTip", lambda: "")()):
                label = getattr(w, "text", lambda: "")() if isinstance(w, QCheckBox) else ""
                missing.append(f"{form_name}.{type(w).__name__} {label or w.objectName()}")
    return missing
