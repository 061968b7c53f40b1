"""How many training steps Keras runs per call (``steps_per_execution``).

For small models each step's Python overhead in ``fit()`` costs more than the step itself:
``compile(steps_per_execution=32)`` cut a 28x28 MLP epoch at batch 32 from 5.3 s to 2.1 s
on this machine (RESEARCH.md, "Input pipelines"). The price is that per-batch callbacks
(progress, the stop check) run once per execution, so it is only used where 32 steps take
milliseconds: no backbone, small inputs, few parameters, and enough batches that an epoch
still reports progress (and can be stopped) at least 8 times.

XLA (``jit_compile``) on a CPU: Keras leaves it off there ("auto" turns it on only with a
GPU), and for convolutions that is right (Keras' example CNN took 5x the CPU per image
with it, the Auto CNN 1.9x: docs/BENCHMARKS.md section 8). For Dense-only models it fuses
each step's small ops: a 28x28 MLP at batch 32 took 1.1-1.4 instead of 1.6-2.3 CPU-ms a
step, a 3x512 MLP 5.7-7.7 instead of 12.4-13.1, for 0.65-1.1 CPU-s more before the first
step (compiling). That pays after ~1,300-1,800 steps for the smallest model and sooner
for bigger ones, so :func:`xla_pays` asks for a small model of Dense-only layers (the sizes
measured: up to 64x64 inputs, 2M weights) and ``XLA_MIN_STEPS``
planned steps (issue 21: "XLA where it pays over the run's length").
"""
from __future__ import annotations

MAX_STEPS = 32
SMALL_INPUT_PIXELS = 64 * 64
SMALL_MODEL_PARAMS = 2_000_000
MIN_CALLBACKS_PER_EPOCH = 8
XLA_MIN_STEPS = 2_000
# Layers XLA fuses well on a CPU (matmuls and element-wise ops); containers are walked.
# Image ops (convolutions, pooling, the random augmentation layers) are left out.
XLA_LAYERS = frozenset({"InputLayer", "Rescaling", "Flatten", "Dense", "Dropout",
                        "Activation", "Reshape"})


def small_model(spec, model) -> bool:
    """No backbone, input at most ``SMALL_INPUT_PIXELS``, at most ``SMALL_MODEL_PARAMS``:
    a model whose steps take milliseconds, so per-step overhead is worth cutting."""
    if getattr(spec, "backbone", None) is not None:
        return False
    try:
        h, w = (int(v) for v in spec.input_size)
        params = int(model.count_params())
    except (TypeError, ValueError, AttributeError):
        return False
    return h * w <= SMALL_INPUT_PIXELS and params <= SMALL_MODEL_PARAMS


def steps_per_execution(spec, model, batches_per_epoch: int) -> int:
    """Steps per ``fit()`` call for this model and dataset (1 = the Keras default)."""
    if not small_model(spec, model):
        return 1
    return max(1, min(MAX_STEPS, int(batches_per_epoch) // MIN_CALLBACKS_PER_EPOCH))


def dense_only(model) -> bool:
    """Whether every layer of ``model`` (nested models walked) is one of ``XLA_LAYERS``."""
    for layer in model.layers:
        if isinstance(getattr(layer, "layers", None), (list, tuple)):
            if not dense_only(layer):
                return False
        elif type(layer).__name__ not in XLA_LAYERS:
            return False
    return True


def xla_pays(spec, model, planned_steps: int, gpu: bool) -> bool | None:
    """XLA for this fit: True for a small (:func:`small_model`, the sizes measured)
    Dense-only model over at least ``XLA_MIN_STEPS`` planned optimizer steps, else False;
    None with a GPU, where Keras' own "auto" stands. ``planned_steps`` counts the whole
    phase (from its first epoch), so a resumed run makes the uninterrupted run's choice."""
    if gpu:
        return None
    return (int(planned_steps) >= XLA_MIN_STEPS and small_model(spec, model)
            and dense_only(model))


XLA_STATUS = ("XLA compiles the training step: a Dense-only model over {steps:,} steps "
              "saves more CPU than the second or so compiling costs.")


def prepare(spec, model, batches_per_epoch: int, epochs: int, gpu: bool,
            distributed: bool = False) -> tuple[int, bool | None]:
    """Steps per execution and XLA (left to Keras under a distribution strategy, whose
    own step loop traces its functions) for ``epochs`` of ``batches_per_epoch``, applied
    to ``model``; returns both. ``Session`` and the data-health fold trainer call it, so
    their fits run the same compiled step."""
    steps = steps_per_execution(spec, model, batches_per_epoch)
    xla = None if distributed else xla_pays(spec, model, batches_per_epoch * epochs, gpu)
    apply(model, steps, xla)
    return steps, xla


def apply(model, steps: int, xla: bool | None = None) -> None:
    """Set ``steps``, and XLA on or off unless ``xla`` is None, on a compiled model
    before ``fit()`` builds its train function."""
    retrace = getattr(model, "steps_per_execution", 1) != steps
    if retrace:
        model.steps_per_execution = steps
    if xla is not None and bool(model.jit_compile) != xla:
        model.jit_compile = xla
        retrace = True
    if retrace:
        # Functions traced for another step count or XLA setting must be traced again.
        model.train_function = model.test_function = None
    if xla and model.test_function is None:
        # XLA for the train step only. Validation runs a few passes a run at inference
        # batches, and compiling its step for both batch shapes cost 0.8-0.9 CPU-s (28x28
        # MLP) against ~0.01 s saved a pass, so its function is made first with XLA off;
        # fit() keeps a test function it finds.
        model.jit_compile = False
        model.make_test_function()
        model.jit_compile = True
