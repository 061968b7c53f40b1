"""K-fold retraining with one traced model for every fold (data health, issue 21).

``labels.cross_val_retrain`` trains the run's model again ``folds x repeats`` times and
keeps only each held-out image's calibrated probabilities. Through ``train()`` every fold
model was a whole run: a new model whose train, test and predict functions were traced
anew (12.5 s of an 8-epoch fold under load, docs/BENCHMARKS.md section 11), a run folder
with a checkpoint per epoch, TensorBoard logs, the unknown rule and the evaluation's
galleries, none of which the ranking reads.

:class:`FoldTrainer` opens the images once, builds and compiles the model once, and for
every fold puts back what a fresh ``train()`` with the fold's seed starts from (the
initial weights, the optimizer's initial state, the random layers' streams), then fits
datasets of the same element spec, so Keras reuses the functions it traced for the first
fold. The fold model is the one ``train()`` makes: the same initial weights, learning-rate
schedule, weight average, batch order, class weights, kept weights (the best-validated
epoch's or, for a short cosine run, the last; ``training.fit.finish.RunEnd``) and
temperature (fitted on the fold's validation split as ``training.trust.fitting.fit_trust``
does). Models with a backbone, several devices or workers still go through ``train()``.
"""
from __future__ import annotations

import logging

import numpy as np

from training.events import Events

log = logging.getLogger(__name__)

PREDICT_BATCH = 256  # held-out predictions: big batches, one traced call each


def can_share_model(spec, config) -> bool:
    """Whether :class:`FoldTrainer` can train this run's folds: an end-to-end model (no
    backbone: no feature cache, no fine-tune phase) on one device in one process."""
    devices = str(getattr(config, "devices", "one") or "one").strip().lower()
    return (getattr(spec, "backbone", None) is None and devices == "one"
            and not getattr(config, "multi_worker", False))


class FoldTrainer:
    """The run's model trained again for each fold of ``index`` (see the module docstring).

    Args:
        index: the dataset (its labels are the ones learned; splits are set per fold).
        spec: the run's ``ModelSpec``.
        config: the run's ``TrainConfig`` (each pass's own comes with :meth:`start_pass`).
        events: stop requests are honoured between and within folds.
    """

    def __init__(self, index, spec, config, events: Events | None = None):
        from training.cpus import configure_threads
        from training.data import open_images
        from training.fit.session import free_memory

        configure_threads()  # before the first TensorFlow op, as train() does
        free_memory()
        self.index, self.spec, self.config = index, spec, config
        self.events = events or Events()
        self.data = open_images(index, tuple(int(v) for v in spec.input_size), spec.color_mode,
                                self.events)
        self.model = self.embedder = None
        self._optimizer_start = self._weights_start = self._rng_start = None
        self._steps = None

    def close(self) -> None:
        """Close the images (their store lock) and drop the model."""
        from training.fit.session import free_memory

        self.data.close()
        self.model = self.embedder = None
        free_memory()

    def start_pass(self, config, train_rows: int) -> None:
        """The initial state of a ``train()`` with ``config`` (a pass's folds differ from
        the first pass's only in ``config.seed``): the first pass builds and compiles the
        model; later passes copy a fresh model's initial weights and random streams into
        it (building is cheap; tracing is what is saved). ``train_rows``: the first
        fold's training images."""
        import keras

        from training.features.store import build_split_model
        from training.fit.rng import seed_states
        from training.fit.session import compile_model, make_optimizer

        self.config = cfg = config
        keras.utils.set_random_seed(int(cfg.seed))  # as Session.build, before the layers draw
        fresh, _ = build_split_model(self.spec, len(self.index.classes), False)
        self._weights_start, self._rng_start = fresh.get_weights(), seed_states(fresh)
        if self.model is not None:
            return
        from training.features.embeddings import Embedder
        from training.fit.ema import ema_momentum

        # The weight average's momentum is fixed when the optimizer is made; folds differ by
        # a few training images, which moves ceil(n / batch) by at most one step.
        momentum = (ema_momentum(cfg.ema_epochs, -(-int(train_rows) // cfg.batch_size))
                    if cfg.ema_epochs else 0.0)
        self.model = fresh
        compile_model(fresh, make_optimizer(cfg.optimizer, cfg.learning_rate, momentum),
                      cfg.label_smoothing)
        fresh.optimizer.build(fresh.trainable_variables)  # what a fresh optimizer holds
        self._optimizer_start = [np.array(v.numpy()) for v in fresh.optimizer.variables]
        self.embedder = Embedder(fresh, PREDICT_BATCH)

    def reset(self) -> None:
        """Put back the pass's initial weights, optimizer state and random streams."""
        from training.fit.rng import restore_seed_states

        self.model.set_weights(self._weights_start)
        restore_seed_states(self.model, self._rng_start)
        for v, value in zip(self.model.optimizer.variables, self._optimizer_start):
            v.assign(value)

    def fit_fold(self, splits: np.ndarray, events: Events) -> None:
        """Train from the initial state on ``splits``' training rows, as ``train()`` would;
        the model then holds the weights ``train()`` keeps. Raises ``Stopped``."""
        from training.data.index import TRAIN, VALIDATION
        from training.fit import execution
        from training.fit.device import has_gpu
        from training.fit.callbacks import EpochClockCallback, EventsCallback, TrainState
        from training.fit.ema import WeightAverage, averaged_callbacks
        from training.fit.schedules import early_stop_from, lr_callbacks
        from training.fit.session import validation_batch
        from training.recipe.epoch_budget import runs_to_the_end

        cfg, model = self.config, self.model
        train_rows = np.flatnonzero(splits == TRAIN)
        val_rows = np.flatnonzero(splits == VALIDATION)
        batches = -(-len(train_rows) // cfg.batch_size)
        stop_from = early_stop_from(cfg.lr_schedule, 0, cfg.epochs, batches)
        keep_last = runs_to_the_end(cfg.lr_schedule, cfg.epochs, batches)
        # Validation each epoch only where it can change the model: choosing the best epoch
        # or stopping early. A short cosine run keeps its last weights and never stops early.
        validate = len(val_rows) > 0 and not (
            keep_last and (not cfg.early_stopping or stop_from is None))
        self.reset()
        if self._steps is None:  # one count for every fold: another would trace again
            self._steps = execution.prepare(self.spec, model, batches, cfg.epochs, has_gpu())[0]
        train_ds = self.data.dataset(train_rows, cfg.batch_size, True, cfg.seed)
        val_ds = self.data.dataset(val_rows, validation_batch(cfg.batch_size, len(val_rows),
                                                             self.data.shape),
                                   False, cfg.seed) if validate else None
        state = TrainState()
        average = WeightAverage(model, model.optimizer)
        callbacks = averaged_callbacks(
            average,
            EventsCallback(events, state, "train", cfg.epochs, batches,
                           early_stopping=cfg.early_stopping, patience=cfg.patience,
                           stop_from=stop_from),
            EpochClockCallback(train_ds),
            *lr_callbacks(cfg.lr_schedule, cfg.learning_rate, 0, cfg.epochs, cfg.patience,
                          val_ds is not None))
        labels = np.asarray(self.index.labels)[train_rows]
        try:
            model.fit(train_ds, validation_data=val_ds, epochs=cfg.epochs, callbacks=callbacks,
                      verbose=0, class_weight=cfg.class_weight_for(self.index.classes, labels),
                      shuffle=False)  # the tf.data pipeline shuffles (seeded) itself
        finally:
            average.settle()
        if state.stopped:
            events.check_stop()
        if cfg.restore_best and state.best_weights is not None and not keep_last:
            model.set_weights(state.best_weights)

    def predict(self, splits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(test rows, their probabilities)`` calibrated with the temperature fitted on
        the validation rows, as the run's evaluation reports them (bad files left out)."""
        from training.data.index import TEST, VALIDATION
        from training.trust.calibration import apply_temperature, fit_temperature_checked

        test = self._pass(np.flatnonzero(splits == TEST))
        val_rows = np.flatnonzero(splits == VALIDATION)
        temperature = 1.0
        if len(val_rows):
            val = self._pass(val_rows)
            if len(val[0]):
                logits = self.embedder.logits(val[2], val[3])
                temperature = fit_temperature_checked(val[3], val[1], logits,
                                                      seed=self.config.seed)["temperature"]
        return test[0], apply_temperature(test[3], temperature) if len(test[0]) else test[3]

    def _pass(self, rows):
        """``(kept rows, labels, features, raw probabilities)`` of ``rows``."""
        got = self.embedder.embed_batches(self.data.batches(rows, PREDICT_BATCH))
        return got.rows, got.labels, got.features, got.probabilities
