"""Guard rails: settings that can't work, found before training starts.

:func:`check_setup` looks at a model spec, a training config and the class counts and
returns :class:`Advice` items (plain data, shown by the Model panel and printed by the
CLI). :func:`apply_fixes` changes the one combination that can never learn anything,
random backbone weights kept frozen (measured: 10.0 % on 10 classes, chance), and says
what it changed; ``train()`` calls both and records the messages in ``run.json``.

Qt-free and TensorFlow-free: the Model panel calls it on every edit.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

# Learning rates beyond which the optimizer diverges or barely moves (Adam and RMSprop
# are scale-free and want ~1e-3; plain SGD tolerates ~10x more).
LR_HIGH = {"adam": 0.05, "rmsprop": 0.05, "sgd": 1.0}
LR_LOW = 1e-6
FEW_IMAGES = 10  # training images per class below which a class is hard to learn
MAX_BATCH = 4096


@dataclass
class Advice:
    """One finding.

    Attributes:
        level: ``"fixed"`` (changed by :func:`apply_fixes`), ``"warning"`` (will train,
            badly) or ``"error"`` (can't train).
        field: the setting concerned (``"learning_rate"``, ``"backbone.trainable"``,
            ``"classes"``...), for the GUI to point at.
        message: what is wrong, the value received and what to do.
    """

    level: str
    field: str
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


def frozen_random_backbone(spec, config=None) -> bool:
    """Random backbone weights that stay frozen for the whole run (no fine-tune phase
    unfreezes them later), so the backbone's features are noise forever."""
    bb = getattr(spec, "backbone", None)
    if bb is None or bb.weights != "random" or bb.trainable:
        return False
    fine_tunes = config is not None and config.fine_tune_epochs > 0 and bb.fine_tune_from is not None
    return not fine_tunes


FROZEN_RANDOM_NOTE = ("Random backbone weights can't be frozen: a frozen random backbone "
                      "gives features that never improve, so training ends at chance. "
                      "Freeze was unticked; the whole backbone is trained (or choose "
                      "ImageNet weights to keep it frozen).")


def apply_fixes(spec, config=None) -> list:
    """Fixes what can never work, in place, and returns :class:`Advice` for each change.

    Today that is one case: random backbone weights with a frozen backbone, which is
    unfrozen (``trainable=True``, so every backbone layer learns), unless a fine-tune
    phase unfreezes it later.
    """
    fixes = []
    if frozen_random_backbone(spec, config):
        spec.backbone.trainable = True
        fixes.append(Advice("fixed", "backbone.trainable", FROZEN_RANDOM_NOTE))
    return fixes


def review(spec, config, counts: dict | None = None) -> list:
    """What ``train()`` runs: :func:`apply_fixes`, then :func:`check_setup` on the result."""
    return apply_fixes(spec, config) + check_setup(spec, config, counts)


def check_setup(spec, config, counts: dict | None = None) -> list:
    """Everything that looks wrong with ``spec`` + ``config`` on data with ``counts``.

    Args:
        spec: a ``ModelSpec``.
        config: a ``TrainConfig``.
        counts: ``DatasetIndex.counts()`` (``{split: {class: n}}``), or None before a
            dataset is open.

    Returns:
        A list of :class:`Advice`, most serious first; empty when all is well.
    """
    out = []
    if frozen_random_backbone(spec, config):
        out.append(Advice("warning", "backbone.trainable",
                          "Random backbone weights with a frozen backbone train to chance; "
                          "training will untick freeze and train the whole backbone. Choose "
                          "ImageNet weights (download them if needed) to keep it frozen."))
    out += _learning_rate(config)
    train_counts = (counts or {}).get("train") or {}
    num_train = sum(train_counts.values())
    out += _batch(config, num_train)
    out += _epochs(config, spec)
    out += _classes(train_counts)
    order = {"error": 0, "warning": 1, "fixed": 2}
    return sorted(out, key=lambda a: order.get(a.level, 3))


def _learning_rate(config) -> list:
    lr, opt = float(config.learning_rate), config.optimizer
    out = []
    if lr > LR_HIGH.get(opt, 0.05):
        out.append(Advice("warning", "learning_rate",
                          f"Learning rate {lr:g} is too high for {opt}: the loss will jump "
                          f"around or become NaN. Try 0.001{' (or 0.01 for sgd)' if opt != 'sgd' else ''}. "
                          f"Received: learning_rate={lr:g}"))
    elif lr < LR_LOW:
        out.append(Advice("warning", "learning_rate",
                          f"Learning rate {lr:g} is so small that the weights barely move in "
                          f"{config.epochs} epochs. Try 0.001. Received: learning_rate={lr:g}"))
    ft = float(config.fine_tune_lr)
    if config.fine_tune_epochs and ft > lr:
        out.append(Advice("warning", "fine_tune_lr",
                          f"The fine-tune learning rate ({ft:g}) is higher than the first "
                          f"phase's ({lr:g}); unfreezing with a high rate destroys the "
                          "pretrained features. Use about a hundredth of it, e.g. 1e-5."))
    return out


def _batch(config, num_train: int) -> list:
    b = int(config.batch_size)
    if num_train and b > num_train:
        return [Advice("warning", "batch_size",
                       f"Batch size {b} is larger than the training set ({num_train} images): "
                       f"each epoch is one step, so the model barely learns. Use "
                       f"{max(1, min(32, num_train // 4))} or less. Received: batch_size={b}")]
    if b > MAX_BATCH:
        return [Advice("warning", "batch_size",
                       f"Batch size {b} needs a lot of memory and learns slowly per epoch; "
                       f"64 is a good default. Received: batch_size={b}")]
    if b == 1:
        return [Advice("warning", "batch_size",
                       "Batch size 1 makes every step very noisy and an epoch very slow "
                       "(BatchNormalization can't work either); use 32 or 64. "
                       "Received: batch_size=1")]
    return []


def _epochs(config, spec) -> list:
    out, e = [], int(config.epochs)
    if e == 0:
        out.append(Advice("error", "epochs", "Epochs is 0: nothing would be trained. "
                                             "Received: epochs=0"))
    elif e < 3 and spec.backbone is None:
        out.append(Advice("warning", "epochs",
                          f"{e} epoch{'s' if e > 1 else ''} is rarely enough to train a "
                          "model from scratch; use 20 or more with early stopping. "
                          f"Received: epochs={e}"))
    if config.early_stopping and e > 2 and config.patience >= e:
        out.append(Advice("warning", "patience",
                          f"Early-stopping patience ({config.patience}) is not smaller than "
                          f"the number of epochs ({e}), so it can never stop early."))
    if not config.early_stopping and e > 200:
        out.append(Advice("warning", "epochs",
                          f"{e} epochs without early stopping will likely overfit and take a "
                          "long time; turn early stopping on."))
    bb = getattr(spec, "backbone", None)
    if config.fine_tune_epochs and (bb is None or bb.fine_tune_from is None):
        out.append(Advice("warning", "fine_tune_epochs",
                          f"{config.fine_tune_epochs} fine-tune epochs are set but no layer "
                          "to fine-tune from, so that phase is skipped; tick "
                          "“Fine-tune from layer”."))
    return out


def _classes(train_counts: dict) -> list:
    if not train_counts:
        return []
    empty = [c for c, n in train_counts.items() if n == 0]
    few = [f"{c} ({n})" for c, n in train_counts.items() if 0 < n < FEW_IMAGES]
    out = []
    if empty:
        out.append(Advice("warning", "classes",
                          f"No training images for {_names(empty)}: the model can never "
                          "predict " + ("it" if len(empty) == 1 else "them") + ". Add images "
                          "or remove the class."))
    if few:
        out.append(Advice("warning", "classes",
                          f"Very few training images for {_names(few)}: fewer than "
                          f"{FEW_IMAGES} per class is hard to learn and its test numbers mean "
                          "little. Add images, use augmentation, or a pretrained backbone."))
    return out


def _names(items: list, limit: int = 6) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
