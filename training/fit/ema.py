"""An exponential moving average (EMA) of the weights, validated, kept and resumed.

The optimizer keeps the average (Keras' ``use_ema``: updated inside every train step, a
few multiply-adds per weight, and saved with the optimizer's state in
``model_last.keras``). What Keras leaves to the caller is *when* the averaged weights are
the model's: Keras only copies them in at the end of ``fit()``. Here:

- validation at the end of each epoch scores the averaged weights (the ones a run would
  keep), so early stopping and the best epoch are chosen on them, and ``model_best`` /
  ``model_final`` hold them;
- ``model_last.keras`` holds the raw weights, with the average in the optimizer state,
  so a resumed run continues the raw trajectory *and* the average exactly where the
  uninterrupted run would (issue 21: resume equals uninterrupted).

This works by exchanging the model's trainable values with the optimizer's averages
(:class:`WeightAverage` ``swap_in``/``swap_out``): in at ``on_test_begin`` (or, with no
validation split, at ``on_epoch_end``), out again once the epoch's checkpoints are
written (``Session._epoch_saved``) and, whatever the epoch's end did, by the last
callback of the epoch: Keras' ``fit()`` ends by copying the optimizer's averages into the
model, which must then hold the averages, not the raw weights.

The average's horizon is given in epochs (``TrainConfig.ema_epochs``) and turned into a
per-step momentum from the steps per epoch, as BatchNormalization's momentum is
(``training.recipe.auto.bn_momentum``): a 180-image set with 3 steps an epoch and
Fashion-MNIST with 844 get the same averaging in epochs.
"""
from __future__ import annotations

import keras

MAX_MOMENTUM = 0.999  # a horizon of at most ~1,000 steps


def ema_momentum(ema_epochs: float, steps_per_epoch: int) -> float:
    """Per-step momentum whose averaging horizon, ``1 / (1 - momentum)`` steps, is
    ``ema_epochs`` epochs; 0 (off) when ``ema_epochs`` is 0 or the horizon is under
    2 steps (averaging over fewer steps than that averages nothing)."""
    horizon = float(ema_epochs) * max(1, int(steps_per_epoch))
    if ema_epochs <= 0 or horizon < 2:
        return 0.0
    return round(min(MAX_MOMENTUM, 1 - 1 / horizon), 4)


class WeightAverage:
    """The model's trainable variables and the optimizer's averages of them.

    Args:
        model: the model being fitted.
        optimizer: its optimizer, made with ``use_ema=True`` (else this does nothing).
    """

    def __init__(self, model, optimizer):
        self.model, self.optimizer = model, optimizer
        self.swapped = False  # True: the model holds the averages, the optimizer the raw

    @property
    def active(self) -> bool:
        return bool(getattr(self.optimizer, "use_ema", False)) and self.optimizer.built

    def _pairs(self):
        # Keras keeps the averages in this (private) list, one per trainable variable, in
        # the order of ``optimizer.build(model.trainable_variables)``; checked against the
        # shapes so a Keras change fails loudly instead of mixing weights up.
        averages = getattr(self.optimizer, "_model_variables_moving_average", None) or []
        variables = self.model.trainable_variables
        if len(averages) != len(variables) or any(
                a is not None and tuple(a.shape) != tuple(v.shape)
                for v, a in zip(variables, averages)):
            raise RuntimeError(f"The optimizer's weight averages ({len(averages)}) do not match "
                               f"the model's trainable weights ({len(variables)}).")
        return [(v, a) for v, a in zip(variables, averages) if a is not None]

    def _exchange(self) -> None:
        for v, a in self._pairs():
            raw = keras.ops.copy(v.value)
            v.assign(a.value)
            a.assign(raw)

    def swap_in(self) -> None:
        """Make the averaged weights the model's (the raw ones wait in the optimizer)."""
        if self.active and not self.swapped:
            self._exchange()
            self.swapped = True

    def swap_out(self) -> None:
        """Put the raw weights back, so training continues from them."""
        if self.active and self.swapped:
            self._exchange()
            self.swapped = False

    def settle(self) -> None:
        """After ``fit()``, however it ended: the model holds the averaged weights and the
        optimizer's averages equal them (what Keras' own ``finalize_variable_values``
        leaves after a normal end)."""
        if not self.active:
            return
        self.swap_out()
        for v, a in self._pairs():
            v.assign(a.value)


class WeightAverageCallback(keras.callbacks.Callback):
    """Swaps the averaged weights in for validation and the epoch's bookkeeping.

    Put it *before* ``EventsCallback`` so that callback's ``on_epoch_end`` (best weights,
    early stopping, checkpoints) sees the averaged weights; ``Session._epoch_saved``
    swaps them out before it writes ``model_last.keras``, and
    :class:`WeightAverageEndCallback`, last in the list, in every other case.
    """

    def __init__(self, average: WeightAverage):
        super().__init__()
        self.average = average

    def on_test_begin(self, logs=None):
        self.average.swap_in()

    def on_epoch_end(self, epoch, logs=None):
        self.average.swap_in()  # no validation split: the epoch's weights are the averages

    def on_train_batch_begin(self, batch, logs=None):
        self.average.swap_out()


class WeightAverageEndCallback(keras.callbacks.Callback):
    """Last in the callback list: the raw weights are the model's again after every epoch
    end (an epoch cut short by a stop writes no checkpoint that would have done it)."""

    def __init__(self, average: WeightAverage):
        super().__init__()
        self.average = average

    def on_epoch_end(self, epoch, logs=None):
        self.average.swap_out()


def averaged_callbacks(average: WeightAverage, events_callback, *others) -> list:
    """A fit's callback list around a weight average, in the order it needs:
    :class:`WeightAverageCallback` before ``events_callback`` (its epoch end sees the
    averaged weights), then ``others``, and :class:`WeightAverageEndCallback` last.
    ``Session`` and the data-health fold trainer both fit through it."""
    return [WeightAverageCallback(average), events_callback, *others,
            WeightAverageEndCallback(average)]
