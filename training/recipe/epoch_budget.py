"""How many epochs a run gets when nobody says: a budget derived from the dataset's size.

A fixed epoch count is either too short for a small set or too long for a big one: 30
epochs of the Auto CNN over Fashion-MNIST's 54,000 training images take ~16 minutes on 2
CPU cores, while the bundled 1,350-image sample needs all 30 to converge (each epoch is
only 22 steps). So the default is a number of *images seen* across the run, turned into
epochs and clamped to a sensible range. Together with the cosine schedule (which decays
the rate to ~0 over exactly these epochs, where the last 0.5-1 % of accuracy comes from),
a big set ends on time with a fully decayed rate instead of being cut off mid-schedule.

Measured (docs/BENCHMARKS.md section 8a): Fashion-MNIST gets 19 epochs -> 93.13 % test in
13:22 wall on the 2-core machine under other work (~30 s an epoch idle); 18 epochs gave
92.82 %, so this budget is close to the least that reaches 93 %: don't lower it.

Small sets get a minimum of optimizer steps (``MIN_STEPS``) and, being short, train to the
end of the schedule and keep their last weights (``SHORT_RUN_STEPS``, below).

Used by the CLI (no ``--epochs``), the Auto choice (the GUI takes its epochs unless the
person changed them) and ``bench/default_accuracy.py``. No TensorFlow here.
"""
from __future__ import annotations

from training.recipe.config import TrainConfig

# Images passed through the model over a whole run. 1,000,000 is ~19 epochs of
# Fashion-MNIST (~10 minutes of the Auto CNN on 2 cores) and ~18 passes of 60,000 images.
EPOCH_IMAGES = 1_000_000
MIN_EPOCHS = 10       # fewer than this and even a huge set's cosine decays too fast
MAX_EPOCHS = TrainConfig().epochs  # the ordinary default: small sets keep it
# A small set takes few steps an epoch (160 faces: 3 at batch 64), so 30 epochs are 90
# optimizer steps. MIN_STEPS gives such a set enough epochs for that many steps, at most
# MAX_SMALL_EPOCHS (each epoch also validates: that bounds the cost). Round 2 (docs/
# BENCHMARKS.md 8c) measured 1,000 with early stopping and best-epoch restore: the longer
# runs stopped where the 20-50-image validation loss had long passed its minimum, before
# the rate had decayed (-4.0 points on the faces). Round 3: with SHORT_RUN_STEPS below
# (such a run trains to the end and keeps its last weights) it gained +0.3 to +4.9 points
# on each of the four small report sets (11 of 12 seeds, one tie) for 2-8x the epochs, so
# it is the default.
MIN_STEPS = 1_000
MAX_SMALL_EPOCHS = 200
# A cosine run of at most this many optimizer steps trains to the end of its schedule and
# keeps its last, decayed weights: no early stopping, no best-epoch restore. Its validation
# split is small (a run this short has few images), so its loss cannot say when to stop or
# which epoch was best, and the run is short anyway. Every set the step minimum lengthens
# gets ~MIN_STEPS; twice that reaches ~4,200 images at 30 epochs of batch 64. Longer runs
# keep early stopping, armed once the rate has decayed (training.fit.schedules).
SHORT_RUN_STEPS = 2 * MIN_STEPS


def steps_per_epoch(num_train: int, batch_size: int = TrainConfig().batch_size) -> int:
    return -(-max(1, int(num_train)) // max(1, int(batch_size)))


def runs_to_the_end(schedule: str, epochs: int, steps: int) -> bool:
    """Whether a phase of ``epochs`` epochs of ``steps`` optimizer steps under
    ``schedule`` trains to its end and keeps its last weights (``SHORT_RUN_STEPS``)."""
    return schedule == "cosine" and int(epochs) * max(1, int(steps)) <= SHORT_RUN_STEPS


def default_epochs(num_train: int, batch_size: int = TrainConfig().batch_size,
                   min_steps: int | None = None) -> int:
    """Epochs for ``num_train`` training images: ``EPOCH_IMAGES / num_train``, rounded,
    between ``MIN_EPOCHS`` and ``MAX_EPOCHS``; then, for a small set, enough epochs for
    ``min_steps`` optimizer steps (``MIN_STEPS`` when None), at most ``MAX_SMALL_EPOCHS``."""
    n = max(1, int(num_train))
    epochs = int(min(MAX_EPOCHS, max(MIN_EPOCHS, round(EPOCH_IMAGES / n))))
    min_steps = MIN_STEPS if min_steps is None else int(min_steps)
    steps = steps_per_epoch(n, batch_size)
    if min_steps and epochs * steps < min_steps:
        epochs = min(MAX_SMALL_EPOCHS, -(-min_steps // steps))
    return epochs


def epochs_reason(num_train: int, batch_size: int = TrainConfig().batch_size) -> str:
    """One sentence on why :func:`default_epochs` picked its number (and, for a short
    run, that it trains to the end: :func:`runs_to_the_end` with the default schedule)."""
    epochs = default_epochs(num_train, batch_size)
    steps = steps_per_epoch(num_train, batch_size)
    to_the_end = runs_to_the_end(TrainConfig().lr_schedule, epochs, steps)
    if to_the_end:
        ending = ("the rate follows a cosine down to ~0 and, the run being short, it trains to "
                  "the end and keeps the last weights (a small validation split cannot say "
                  "when to stop).")
    else:
        ending = ("the rate follows a cosine down to ~0 and early stopping can end the run "
                  "once it has decayed.")
    count = f"{epochs} epochs" if to_the_end else f"Up to {epochs} epochs"
    if epochs > MAX_EPOCHS:
        per_epoch = "1 step" if steps == 1 else f"{steps} steps"
        return (f"{count}: {int(num_train):,} training images make only {per_epoch} an "
                f"epoch, and a run needs about {MIN_STEPS:,} steps to learn; " + ending)
    if epochs >= MAX_EPOCHS:
        return f"{count}; " + ending
    return (f"{epochs} epochs: with {int(num_train):,} training images that is about "
            f"{epochs * int(num_train) / 1e6:.1f} million images seen, enough to converge "
            "while keeping the run short; the rate follows a cosine down to ~0 over them.")
