"""Learning-rate schedules of a training phase, as Keras callbacks.

``TrainConfig.lr_schedule`` names one: ``"plateau"`` lowers the rate when the monitored
loss stops improving (Keras' ``ReduceLROnPlateau``), ``"cosine"`` decays it per epoch
along a half cosine, ``"none"`` keeps it. Both change the optimizer's ``learning_rate``
variable (no ``LearningRateSchedule`` object), so the rate is logged per epoch, saved with
the optimizer in ``model_last.keras`` and picked up again on resume.
"""
from __future__ import annotations

import math

# Plateau: a factor of ~3 (not Keras' 10) lets the rate fall a few times within a run.
PLATEAU_FACTOR = 0.3
COSINE_FLOOR = 0.01  # the cosine ends at 1 % of the starting rate


def plateau_patience(patience: int) -> int:
    """Epochs without improvement before the rate drops: about half the early-stopping
    patience, so the rate gets lowered (usually a gain) before training is given up."""
    return max(1, int(patience) // 2)


def cosine_rate(base_lr: float, epoch: int, first: int, last: int) -> float:
    """The rate for ``epoch`` (0-based) of a phase running from ``first`` to ``last``."""
    span = max(1, last - first - 1)
    t = min(1.0, max(0.0, (epoch - first) / span))
    return base_lr * (COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + math.cos(math.pi * t)))


# Early stopping with the cosine schedule (issue 21 item 3). The validation loss of a small
# split (500 images) moves by more from noise than a run improves per epoch while the rate
# is high: measured, patience 5 ended a 30-epoch cosine at epoch 11 with the rate at 74 %
# of its peak and validation accuracy still rising. So the stop is armed only once the
# rate has decayed below ARM_FRACTION of its peak (about the last 35 % of the phase), where
# a plateau is a real one, and never in a phase of SHORT_PHASE epochs or fewer, which ends
# soon anyway, nor in a short run (training.recipe.epoch_budget.runs_to_the_end: at most
# SHORT_RUN_STEPS optimizer steps), which also keeps its last weights: round 2 of
# docs/BENCHMARKS.md 8c saw the small sets' 20-50-image validation loss stop runs (and pick
# their "best" epoch) before the rate had decayed; round 3 measured the rule.
ARM_FRACTION = 0.3
SHORT_PHASE = 10


def early_stop_from(schedule: str, first_epoch: int, last_epoch: int,
                    steps_per_epoch: int | None = None) -> int | None:
    """The first epoch (1-based, absolute) after which early stopping may end a phase that
    runs over epochs ``first_epoch`` .. ``last_epoch - 1`` (0-based), or None: never.

    ``"plateau"`` and ``"none"``: from the phase's first epoch (the rate does not follow a
    fixed plan, so the plateau is the only signal there is). ``"cosine"``: from the first
    epoch whose rate is at most ``ARM_FRACTION`` of the peak; never for a phase of
    ``SHORT_PHASE`` epochs or fewer, nor for a short run (``steps_per_epoch`` given and
    ``runs_to_the_end``).
    """
    from training.recipe.epoch_budget import runs_to_the_end

    if schedule != "cosine":
        return first_epoch + 1
    if last_epoch - first_epoch <= SHORT_PHASE:
        return None
    if steps_per_epoch is not None and runs_to_the_end(schedule, last_epoch - first_epoch,
                                                       steps_per_epoch):
        return None
    for epoch in range(first_epoch, last_epoch):
        if cosine_rate(1.0, epoch, first_epoch, last_epoch) <= ARM_FRACTION:
            return epoch + 1
    return None


def lr_callbacks(schedule: str, base_lr: float, first_epoch: int, last_epoch: int,
                 patience: int, has_validation: bool) -> list:
    """The callbacks that apply ``schedule`` to one ``fit()`` call.

    Args:
        schedule: ``"plateau"``, ``"cosine"`` or ``"none"``.
        base_lr: the phase's starting learning rate.
        first_epoch, last_epoch: the phase's ``initial_epoch`` and ``epochs`` of ``fit``.
        patience: the early-stopping patience (the plateau waits about half of it).
        has_validation: monitor ``val_loss`` when True, else the training ``loss``.
    """
    import keras

    if schedule == "plateau":
        return [keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss" if has_validation else "loss", factor=PLATEAU_FACTOR,
            patience=plateau_patience(patience), min_lr=base_lr * 1e-3, verbose=0)]
    if schedule == "cosine":
        return [keras.callbacks.LearningRateScheduler(
            lambda epoch, lr: cosine_rate(base_lr, epoch, first_epoch, last_epoch))]
    return []
