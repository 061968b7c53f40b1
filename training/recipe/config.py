"""``TrainConfig``: how a model is trained (not what it is, nor what it is trained on).

Saved as ``config.json`` in every run folder with a ``schema_version``. Following the
settings rule in the style guide, a changed default is a minor change (same version); a
removed or renamed field is a major one and bumps ``SCHEMA_VERSION``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from training.safefiles import check_schema

# 2: class_weight added (a build that reads only version 1 refuses it clearly, instead of
# calling it an unknown field); version 1 files load with class_weight=None.
# 3: label_smoothing added (default 0, which is how older files were trained).
# 4: ema_epochs added; files of versions 1-3 load with 0 (no weight average), how they
# were trained, so resuming one does not add an average its checkpoint lacks.
# 5: mixed_precision may be "auto" (the new default); an older file's false meant "not
# asked for" (no window offered it, the CLI flag was off by default), so it loads as "auto".
SCHEMA_VERSION = 5


@dataclass(frozen=True)
class Optimizer:
    """One optimizer the app offers: its Keras class and what it is for (the tooltip)."""

    keras_class: str
    description: str


# The one list of optimizers: ``TrainConfig.optimizer``'s values, the CLI's ``--optimizer``
# choices, the Model panel's menu and tooltip, the session's factory and the docs.
OPTIMIZERS = {
    "adam": Optimizer("Adam", "is a safe default"),
    "sgd": Optimizer("SGD", "with a schedule can generalise better"),
    "rmsprop": Optimizer("RMSprop", "is in between"),
}
BALANCED = "balanced"
# The learning-rate schedules and what each does (the CLI's help, the Model panel's tooltip).
LR_SCHEDULES = {
    "plateau": "lower the rate when the validation loss stalls",
    "cosine": "decay it smoothly to ~0 over the epochs",
    "none": "keep it",
}


@dataclass
class TrainConfig:
    """Training settings.

    Attributes:
        epochs: epochs of the first (head) phase.
        batch_size: samples per gradient step.
        optimizer: a name in :data:`OPTIMIZERS` (``"adam"``, ``"sgd"`` or ``"rmsprop"``).
        learning_rate: learning rate of the first phase.
        early_stopping: stop when ``val_loss`` has not improved for ``patience`` epochs.
        patience: epochs without improvement before early stopping.
        lr_schedule: ``"cosine"`` (decay the learning rate along a half cosine to 1 %
            over the phase's epochs; the default), ``"plateau"`` (divide it by ~3 when
            ``val_loss`` has not improved for about half of ``patience`` epochs) or
            ``"none"``.
        restore_best: at the end of training, put back the weights of the epoch with the
            lowest ``val_loss`` (so ``model_final.keras`` is the best model).
        checkpoint_best: save ``model_best.keras`` whenever ``val_loss`` improves.
        fine_tune_epochs: epochs of the second phase, in which the backbone is unfrozen
            from ``spec.backbone.fine_tune_from``; 0 skips it.
        fine_tune_lr: learning rate of the fine-tune phase (lower, so the pretrained
            weights are adjusted rather than destroyed).
        label_smoothing: train towards ``1 - s`` for the true class and ``s / classes``
            for every class (``training.models.losses``); 0 turns it off.
        ema_epochs: keep an exponential moving average of the weights over about this
            many epochs (``training.fit.ema``): validation, the best epoch and the saved
            models use the averaged weights; 0 turns it off.
        seed: seeds Python, NumPy and the backend, and the shuffling of batches.
        mixed_precision: ``"auto"`` (the default: ``mixed_float16`` on a GPU, float32 on
            a CPU, where float16 is emulated and slower), True (on a GPU) or False.
        feature_cache: with a frozen backbone and no augmentation, compute backbone
            features once and train the head on them.
        class_weight: None (every sample counts the same), ``"balanced"`` (each class's
            weight is ``n_samples / (n_classes * n_class_samples)`` on the training split,
            scikit-learn's rule) or ``{class name: weight}`` (classes not named weigh 1).
        devices: ``"one"`` (default), ``"all"`` (every GPU: ``MirroredStrategy`` when there
            are two or more) or a comma-separated list (``"GPU:0,GPU:1"``, ``"0,1"``).
            ``batch_size`` is then per device; the global batch is ``batch_size x devices``.
        multi_worker: train as one worker of a ``MultiWorkerMirroredStrategy`` cluster
            (``TF_CONFIG`` or Slurm); see ``training.fit.distributed``.
    """

    # Defaults measured on Fashion-MNIST (docs/BENCHMARKS.md, "Default accuracy"): 64 per
    # batch is faster on a CPU than 32 at the same accuracy. Cosine, not plateau: the
    # plateau schedule kept shaving 0.0005 off val_loss and never let a 30-epoch run end
    # (43 min on Fashion-MNIST); a cosine over a known number of epochs ends with the rate
    # at ~0, where the last 0.5-1 % comes from. With no --epochs the CLI and Auto take the
    # epochs from the dataset's size (training.recipe.epoch_budget); 30 is their maximum.
    epochs: int = 30
    batch_size: int = 64
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    early_stopping: bool = True
    patience: int = 5
    lr_schedule: str = "cosine"
    restore_best: bool = True
    checkpoint_best: bool = True
    fine_tune_epochs: int = 0
    fine_tune_lr: float = 1e-5
    # Off by default: the one Fashion-MNIST run with 0.1 (and flips) ended lower than the
    # published run without both (92.57 % with seed 0 against 93.13 % with seed 42,
    # docs/BENCHMARKS.md 8c); the two were not separated (no bench time left).
    label_smoothing: float = 0.0
    ema_epochs: float = 0.0
    seed: int = 42
    mixed_precision: bool | str = "auto"
    feature_cache: bool = True
    class_weight: str | dict | None = None
    devices: str = "one"
    multi_worker: bool = False
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field and the value received."""
        def bad(field: str, why: str) -> ValueError:
            return ValueError(f"The training setting {field} {why}. Received: {field}={getattr(self, field)!r}")

        for name in ("epochs", "batch_size", "patience", "fine_tune_epochs", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad(name, "must be an integer")
        if self.epochs < 0:
            raise bad("epochs", "must be 0 or more")
        if self.batch_size < 1:
            raise bad("batch_size", "must be at least 1")
        if self.patience < 0:
            raise bad("patience", "must be 0 or more")
        if self.fine_tune_epochs < 0:
            raise bad("fine_tune_epochs", "must be 0 or more")
        if not isinstance(self.optimizer, str) or self.optimizer.lower() not in OPTIMIZERS:
            raise bad("optimizer", f"must be one of {', '.join(OPTIMIZERS)}")
        self.optimizer = self.optimizer.lower()
        if not isinstance(self.lr_schedule, str) or self.lr_schedule.lower() not in LR_SCHEDULES:
            raise bad("lr_schedule", f"must be one of {', '.join(LR_SCHEDULES)}")
        self.lr_schedule = self.lr_schedule.lower()
        ls = self.label_smoothing
        if isinstance(ls, bool) or not isinstance(ls, (int, float)) or not 0 <= ls < 1:
            raise bad("label_smoothing", "must be a number from 0 up to (not including) 1")
        self.label_smoothing = float(ls)
        ema = self.ema_epochs
        if isinstance(ema, bool) or not isinstance(ema, (int, float)) or not 0 <= ema <= 100:
            raise bad("ema_epochs", "must be a number from 0 (off) to 100")
        self.ema_epochs = float(ema)
        for name in ("learning_rate", "fine_tune_lr"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise bad(name, "must be a positive number")
            setattr(self, name, float(value))
        if not isinstance(self.devices, str) or not self.devices.strip():
            raise bad("devices", "must be 'one', 'all' or a comma-separated device list")
        for name in ("early_stopping", "restore_best", "checkpoint_best",
                     "feature_cache", "multi_worker"):
            if not isinstance(getattr(self, name), bool):
                raise bad(name, "must be true or false")
        if isinstance(self.mixed_precision, str) and self.mixed_precision.lower() == "auto":
            self.mixed_precision = "auto"
        elif not isinstance(self.mixed_precision, bool):
            raise bad("mixed_precision", "must be 'auto', true or false")
        cw = self.class_weight
        if isinstance(cw, str):
            if cw.lower() != BALANCED:
                raise bad("class_weight", f"must be '{BALANCED}', a mapping of class names to "
                                          "weights, or null")
            self.class_weight = BALANCED
        elif isinstance(cw, dict):
            for name, w in cw.items():
                if isinstance(w, bool) or not isinstance(w, (int, float)) or not w > 0:
                    raise bad("class_weight", f"must give every class a positive weight "
                                              f"(class {name!r} has {w!r})")
            self.class_weight = {str(k): float(v) for k, v in cw.items()}
        elif cw is not None:
            raise bad("class_weight", f"must be '{BALANCED}', a mapping of class names to "
                                      "weights, or null")

    def class_weight_for(self, classes, y_train) -> dict[int, float] | None:
        """Keras' ``class_weight`` ({class index: weight}) for these training labels.

        Raises:
            ValueError: a manual weight names a class the dataset does not have.
        """
        import numpy as np

        cw = self.class_weight
        if cw is None:
            return None
        classes = [str(c) for c in classes]
        if cw == BALANCED:
            counts = np.bincount(np.asarray(y_train, dtype=np.int64), minlength=len(classes))
            present = counts > 0
            n, k = counts.sum(), int(present.sum())
            return {i: float(n / (k * counts[i])) if present[i] else 1.0
                    for i in range(len(classes))}
        unknown = sorted(set(cw) - set(classes))
        if unknown:
            raise ValueError(f"TrainConfig.class_weight names classes the dataset does not have: "
                             f"{', '.join(unknown)}. Classes: {', '.join(classes)}")
        return {i: float(cw.get(name, 1.0)) for i, name in enumerate(classes)}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict, where=None) -> "TrainConfig":
        """Build a config from ``to_dict()`` output, validating it (``where``: the file it
        came from, named by the message about a newer version).

        Unknown keys are an error (a typo would otherwise be silently ignored); missing
        keys take their defaults, so files written before a field was added still load.

        Raises:
            ValueError: not a JSON object, a newer ``schema_version``, an unknown field
                or an invalid value.
        """
        if not isinstance(data, dict):
            raise ValueError(f"A training config must be a JSON object. Received: {type(data).__name__}")
        version = check_schema(data, "training config", SCHEMA_VERSION, where=where, required=False)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"Unknown training setting(s): {', '.join(unknown)}. "
                             f"Known fields: {', '.join(sorted(names))}")
        values = dict(data)
        if version < 4:
            values.setdefault("ema_epochs", 0.0)
        if version < 5 and values.get("mixed_precision") is False:
            values["mixed_precision"] = "auto"
        values["schema_version"] = SCHEMA_VERSION
        return cls(**values)


def parse_class_weight(text: str | None) -> str | dict | None:
    """``--class-weight`` text: ``balanced``, ``cat=1,dog=3``, or empty/None for none.

    Raises:
        ValueError: a part is not ``name=number``.
    """
    if text is None or not str(text).strip() or str(text).strip().lower() == "none":
        return None
    text = str(text).strip()
    if text.lower() == BALANCED:
        return BALANCED
    weights = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            weights[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"Class weights must be 'balanced' or name=number pairs separated "
                             f"by commas, like cat=1,dog=3. Received: {part!r}") from None
    return weights


IMBALANCE_RATIO = 3.0  # largest class over smallest above which the Dataset panel warns


def imbalance_warning(counts: dict[str, int]) -> str | None:
    """A warning when the largest class has more than ``IMBALANCE_RATIO`` x the smallest's
    images (training split counts ``{class: n}``), suggesting class weights; else None."""
    present = {c: int(n) for c, n in counts.items() if int(n) > 0}
    if len(present) < 2:
        return None
    big = max(present, key=present.get)
    small = min(present, key=present.get)
    ratio = present[big] / present[small]
    if ratio <= IMBALANCE_RATIO:
        return None
    return (f"Imbalanced classes: {big} has {present[big]:,} training images, {small} only "
            f"{present[small]:,} ({ratio:.1f}x). The model may neglect the small classes; "
            f"set Class weights to “balanced” in the Model panel's training settings "
            f"(or --class-weight balanced on the command line).")
