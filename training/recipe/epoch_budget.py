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

A minimum of optimizer steps for small sets (``MIN_STEPS``) was measured and is off (below).

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
# optimizer steps. MIN_STEPS > 0 gives such a set enough epochs for that many steps, at
# most MAX_SMALL_EPOCHS (each epoch also validates: that bounds the cost). Measured with
# 1,000 (docs/BENCHMARKS.md 8c, round 2): +0.5 to +3.2 points on the three tuning sets of
# bench/suite_data.py, but on the reported small sets +1.6 (the sample), +0.2 (digits),
# -0.2 (Fashion-MNIST 500) and -4.0 (the faces, every seed), for 1.5-4x the time: the
# longer runs early-stop where the 20-50-image validation loss has long passed its
# minimum. So it is off; bench/default_accuracy.py --min-steps tries candidates. (Without
# early stopping and with the last epoch kept it gained +3.6 on Fashion-MNIST 500 and lost
# 1.3 on the faces: the next candidate, measured after the fact, docs/BENCHMARKS.md 8c.)
MIN_STEPS = 0
MAX_SMALL_EPOCHS = 200


def default_epochs(num_train: int, batch_size: int = TrainConfig().batch_size,
                   min_steps: int | None = None) -> int:
    """Epochs for ``num_train`` training images: ``EPOCH_IMAGES / num_train``, rounded,
    between ``MIN_EPOCHS`` and ``MAX_EPOCHS``; then, for a small set, enough epochs for
    ``min_steps`` optimizer steps (``MIN_STEPS`` when None), at most ``MAX_SMALL_EPOCHS``."""
    n = max(1, int(num_train))
    epochs = int(min(MAX_EPOCHS, max(MIN_EPOCHS, round(EPOCH_IMAGES / n))))
    min_steps = MIN_STEPS if min_steps is None else int(min_steps)
    steps = -(-n // max(1, int(batch_size)))
    if min_steps and epochs * steps < min_steps:
        epochs = min(MAX_SMALL_EPOCHS, -(-min_steps // steps))
    return epochs


def epochs_reason(num_train: int, batch_size: int = TrainConfig().batch_size) -> str:
    """One sentence on why :func:`default_epochs` picked its number."""
    epochs = default_epochs(num_train, batch_size)
    if epochs > MAX_EPOCHS:
        steps = -(-max(1, int(num_train)) // max(1, int(batch_size)))
        return (f"Up to {epochs} epochs: {int(num_train):,} training images make only {steps} "
                f"step(s) an epoch, and a run needs about {MIN_STEPS:,} steps to learn; the rate "
                "follows a cosine down to ~0 and early stopping can end the run once it has "
                "decayed.")
    if epochs >= MAX_EPOCHS:
        return (f"Up to {epochs} epochs (early stopping ends the run sooner when the "
                "validation loss stops improving); the rate follows a cosine down to ~0.")
    return (f"{epochs} epochs: with {int(num_train):,} training images that is about "
            f"{epochs * int(num_train) / 1e6:.1f} million images seen, enough to converge "
            "while keeping the run short; the rate follows a cosine down to ~0 over them.")
