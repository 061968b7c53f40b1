"""The Keras callback that connects ``fit()`` to :class:`training.events.Events`.

It forwards throttled per-batch progress and per-epoch metrics as plain data, turns a
stop request into ``model.stop_training`` (Keras' own cooperative mechanism, as
``EarlyStopping`` uses), keeps the best weights so far and does early stopping itself,
so that an epoch cut short by a stop is never mistaken for a finished one.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import keras

from training.events import Events, Stopped

BATCH_INTERVAL_S = 0.1  # at most ~10 on_batch calls per second


@dataclass
class TrainState:
    """What the training loop has achieved so far, shared across phases and resumes."""

    history: list[dict] = field(default_factory=list)
    best_loss: float | None = None
    best_epoch: int | None = None
    best_weights: list | None = None
    wait: int = 0
    stopped: bool = False
    early_stopped: bool = False
    batches_trained: int = 0
    head_finished: bool = False  # the first phase ran to its end (or early-stopped)
    best_model: object = None  # the model whose get_weights() gave best_weights

    @property
    def epochs_done(self) -> int:
        return len(self.history)

    def best_entry(self) -> dict | None:
        for entry in self.history:
            if entry["epoch"] == self.best_epoch:
                return entry
        return None

    def to_dict(self) -> dict:
        """Resumable part of the state (weights live in model_best.keras)."""
        return {"best_loss": self.best_loss, "best_epoch": self.best_epoch, "wait": self.wait,
                "head_finished": self.head_finished}


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class EventsCallback(keras.callbacks.Callback):
    """Forward ``fit()`` progress to ``events`` and honour stop requests.

    Args:
        events: receives ``on_batch``/``on_epoch`` and is polled by ``should_stop``.
        state: shared :class:`TrainState` (history, best weights, patience counter).
        phase: ``"train"`` or ``"fine_tune"`` (reported in every payload).
        total_epochs: epochs across both phases (the ``epochs`` payload key).
        batches: batches per epoch.
        early_stopping: stop after ``patience`` epochs without a better monitor value.
        patience: see above.
        stop_from: the first epoch (1-based) at which early stopping may stop the run
            (``training.fit.schedules.early_stop_from``); None: never. Patience counts
            from there, so a noisy validation loss early in a decaying schedule cannot
            end it.
        on_epoch_saved: called as ``on_epoch_saved(info, improved)`` after each complete
            epoch, before ``events.on_epoch``, to write history and checkpoints.
    """

    def __init__(self, events: Events, state: TrainState, phase: str, total_epochs: int,
                 batches: int, early_stopping: bool = True, patience: int = 3,
                 on_epoch_saved: Callable[[dict, bool], None] | None = None,
                 stop_from: int | None = 1):
        super().__init__()
        self.stop_from = stop_from
        self.events, self.state, self.phase = events, state, phase
        self.total_epochs, self.batches = total_epochs, batches
        self.early_stopping, self.patience = early_stopping, patience
        self.on_epoch_saved = on_epoch_saved
        self._last_emit = 0.0
        self._epoch_start = time.perf_counter()

    # -- stop handling ---------------------------------------------------------------
    def _poll_stop(self) -> None:
        if not self.state.stopped and self.events.should_stop():
            self.state.stopped = True
        if self.state.stopped:
            # fit() resets stop_training when it starts, so it is set again on every
            # hook: a stop requested before the first batch is never lost.
            self.model.stop_training = True

    def on_train_begin(self, logs=None):
        self._poll_stop()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._poll_stop()

    def on_train_batch_begin(self, batch, logs=None):
        self._poll_stop()

    def on_test_begin(self, logs=None):
        # After a stop, fit() still validates the cut-short epoch, and its first
        # validation batch traces the test function: seconds for a backbone (measured:
        # closing the app during fine-tuning took 6.5 s). Leave fit() instead; the
        # partial epoch is not recorded either way.
        self._poll_stop()
        if self.state.stopped:
            raise Stopped()

    def on_test_batch_begin(self, batch, logs=None):
        self._poll_stop()
        if self.state.stopped:
            raise Stopped()  # a stop during validation: skip the rest of it

    def on_train_batch_end(self, batch, logs=None):
        self.state.batches_trained += 1
        self._poll_stop()
        now = time.perf_counter()
        last = batch + 1 >= self.batches
        if now - self._last_emit < BATCH_INTERVAL_S and not last:
            return
        self._last_emit = now
        logs = logs or {}
        self.events.on_batch({
            "phase": self.phase, "epoch": self._epoch_number, "epochs": self.total_epochs,
            "batch": batch + 1, "batches": self.batches,
            "loss": _num(logs.get("loss")), "accuracy": _num(logs.get("accuracy")),
        })

    @property
    def _epoch_number(self) -> int:
        return self.state.epochs_done + 1

    # -- epoch bookkeeping -----------------------------------------------------------
    def on_epoch_end(self, epoch, logs=None):
        if self.state.stopped:
            return  # a partial epoch: its metrics are not comparable, record nothing
        logs = logs or {}
        val_loss = _num(logs.get("val_loss"))
        monitor = val_loss if "val_loss" in logs else _num(logs.get("loss"))
        improved = monitor is not None and (self.state.best_loss is None or monitor < self.state.best_loss)
        info = {
            "phase": self.phase, "epoch": epoch + 1, "epochs": self.total_epochs,
            "loss": _num(logs.get("loss")), "accuracy": _num(logs.get("accuracy")),
            "val_loss": val_loss, "val_accuracy": _num(logs.get("val_accuracy")),
            "lr": _learning_rate(self.model), "seconds": time.perf_counter() - self._epoch_start,
            "best": bool(improved),
        }
        if improved:
            self.state.best_loss, self.state.best_epoch, self.state.wait = monitor, epoch + 1, 0
            self.state.best_weights = self.model.get_weights()
            self.state.best_model = self.model
        else:
            self.state.wait += 1
        self.state.history.append(info)
        early_stop = (self.early_stopping and not improved and self.stop_from is not None
                      and epoch + 1 >= self.stop_from
                      # patience counts only the epochs in which a stop was allowed
                      and epoch + 1 - max(self.state.best_epoch or 0, self.stop_from - 1)
                      >= max(1, self.patience))
        if early_stop:
            self.state.early_stopped = True
            if self.phase == "train":
                self.state.head_finished = True
        if self.on_epoch_saved is not None:
            self.on_epoch_saved(info, improved)  # after the decision, so checkpoints know it
        self.events.on_epoch(dict(info))
        if early_stop:
            self.model.stop_training = True
            self.events.on_status(f"Early stopping: no improvement for {self.state.wait} epoch(s); "
                                  f"best epoch {self.state.best_epoch}.")


class EpochClockCallback(keras.callbacks.Callback):
    """Tells shuffled pipelines (``training.data.pipeline.EpochClock``) which epoch starts,
    by Keras' own epoch number, which a resumed ``fit(initial_epoch=...)`` continues: the
    batches of epoch 11 are the same whether or not the run stopped after epoch 10."""

    def __init__(self, *datasets):
        super().__init__()
        self.clocks = [c for c in (getattr(d, "epoch_clock", None) for d in datasets)
                       if c is not None]

    def on_epoch_begin(self, epoch, logs=None):
        for clock in self.clocks:
            clock.epoch = int(epoch)


def _learning_rate(model) -> float | None:
    try:
        return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    except Exception:  # noqa: BLE001  (schedules or exotic optimizers: just omit it)
        return None
