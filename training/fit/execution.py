"""How many training steps Keras runs per call (``steps_per_execution``).

For small models each step's Python overhead in ``fit()`` costs more than the step itself:
``compile(steps_per_execution=32)`` cut a 28x28 MLP epoch at batch 32 from 5.3 s to 2.1 s
on this machine (RESEARCH.md, "Input pipelines"). The price is that per-batch callbacks
(progress, the stop check) run once per execution, so it is only used where 32 steps take
milliseconds: no backbone, small inputs, few parameters, and enough batches that an epoch
still reports progress (and can be stopped) at least 8 times.
"""
from __future__ import annotations

MAX_STEPS = 32
SMALL_INPUT_PIXELS = 64 * 64
SMALL_MODEL_PARAMS = 2_000_000
MIN_CALLBACKS_PER_EPOCH = 8


def steps_per_execution(spec, model, batches_per_epoch: int) -> int:
    """Steps per ``fit()`` call for this model and dataset (1 = the Keras default)."""
    if getattr(spec, "backbone", None) is not None:
        return 1
    try:
        h, w = (int(v) for v in spec.input_size)
        params = int(model.count_params())
    except (TypeError, ValueError, AttributeError):
        return 1
    if h * w > SMALL_INPUT_PIXELS or params > SMALL_MODEL_PARAMS:
        return 1
    return max(1, min(MAX_STEPS, int(batches_per_epoch) // MIN_CALLBACKS_PER_EPOCH))


def apply(model, steps: int) -> None:
    """Set ``steps`` on a compiled model before ``fit()`` builds its train function."""
    if getattr(model, "steps_per_execution", 1) != steps:
        model.steps_per_execution = steps
        # Functions traced for another step count must be traced again.
        model.train_function = model.test_function = None
