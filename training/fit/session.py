"""The phases of one training run (used by ``train()`` and ``resume()``).

A :class:`Session` owns the model, the decoded arrays and the :class:`TrainState` of a
run, and writes to its run folder through a :class:`RunWriter`. It is internal:
call :func:`training.fit.train.train` / :func:`training.fit.train.resume`. The end of a
run (which weights it keeps, the final model, the evaluation, the summary) is its base
class :class:`training.fit.finish.RunEnd`.
"""
from __future__ import annotations

import contextlib
import threading
import time

import numpy as np

from training.cpus import process_cpu_seconds
from training.runs import listing as runs
from training.fit.rng import seed_states
from training.fit.callbacks import EpochClockCallback, EventsCallback, TrainState
from training.fit.ema import WeightAverage, averaged_callbacks
from training.events import Events, Stopped
from training.features.store import (
    FeatureStore,
    build_split_model,
    compute_features_from,
    feature_dataset,
)
from training.recipe.config import OPTIMIZERS
from training.fit.finish import RunEnd
from training.runs.runfolder import MODEL_BEST, MODEL_LAST


_runs_in_process = [0]  # Session.run calls; before the first there is no run's garbage


def free_memory(collect: bool = True) -> None:
    """Drop Keras' global state and collect garbage, so many runs don't grow memory.

    ``clear_session`` runs ``gc.collect()`` itself (about half a second with TensorFlow
    loaded, over a second on a busy machine), so it is not repeated here, and it is
    skipped before the process's first run, which has nothing to free yet (the time to
    the first batch counts it), and where ``collect`` is False.
    """
    import keras

    # Only the main thread runs the full collection: from a worker thread it can finalise
    # objects that belong to the caller's GUI thread (Qt wrappers caught in reference
    # cycles), which segfaulted once in the GUI tests. Keras' own state is cleared either way.
    on_main_thread = threading.current_thread() is threading.main_thread()
    keras.backend.clear_session(free_memory=collect and on_main_thread and _runs_in_process[0] > 0)


def validation_batch(batch_size: int, images: int, image_shape) -> int:
    """Validation images per step during ``fit``: as many as an inference pass takes for
    small inputs (``inference_batch``): each step costs the same overhead whatever its
    size, and the loss and accuracy are means over all the images either way (issue 21:
    validating 10,000 28x28 images took 0.41-0.49 CPU-s an epoch at batch 32, 0.09-0.10 at
    1,024, val_loss equal to 1e-6). Never below the training batch. ``Session`` and the
    data-health fold trainer both validate with it."""
    from training.features.modelcall import inference_batch

    return max(int(batch_size), inference_batch(images, image_shape))


def uses_mixed_precision(setting, gpu: bool) -> bool:
    """Whether a run trains in ``mixed_float16``: ``TrainConfig.mixed_precision`` is
    ``"auto"`` (on a GPU yes, on a CPU no: float16 is emulated there and slower), True
    or False; never without a GPU."""
    return bool(gpu) and (setting is True or setting == "auto")


@contextlib.contextmanager
def precision_policy(mixed, gpu: bool, events: Events):
    """``mixed_float16`` for the duration of a run when :func:`uses_mixed_precision`."""
    import keras

    if mixed is True and not gpu:
        events.on_status("Mixed precision ignored: no GPU (it only speeds up GPUs).")
    if not uses_mixed_precision(mixed, gpu):
        yield
        return
    events.on_status("Mixed precision: float16 compute, float32 weights "
                     f"({'automatic on a GPU' if mixed == 'auto' else 'as set'}).")
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def make_optimizer(name: str, learning_rate: float, ema_momentum: float = 0.0):
    """The Keras optimizer ``name`` (a key of ``training.recipe.config.OPTIMIZERS``); with
    ``ema_momentum`` > 0 it also keeps a moving average of the weights
    (``training.fit.ema``)."""
    import keras

    cls = getattr(keras.optimizers, OPTIMIZERS[name].keras_class)
    if ema_momentum > 0:
        return cls(learning_rate=learning_rate, use_ema=True, ema_momentum=float(ema_momentum))
    return cls(learning_rate=learning_rate)


def compile_model(model, optimizer, label_smoothing: float = 0.0) -> None:
    """Loss from the head: one sigmoid unit -> binary, else sparse categorical; smoothed
    labels when ``label_smoothing`` > 0 (``training.models.losses``)."""
    from training.models.losses import training_loss

    binary = model.output_shape[-1] == 1
    model.compile(optimizer=optimizer, loss=training_loss(binary, label_smoothing),
                  metrics=["accuracy"])


class Session(RunEnd):
    """One run's model, data and progress; see the module docstring."""

    def __init__(self, index, spec, config, events: Events, device: str, t0: float):
        self.index, self.spec, self.config, self.events = index, spec, config, events
        self.device, self.t0 = device, t0
        self.writer = None
        self.model = self.parts = self.data = None
        self.state = TrainState()
        self.phase = "train"
        self.resumed = False
        # training.fit.step_loop.StepLoop under MultiWorkerMirroredStrategy (Model.fit
        # fails there, keras#20585); None: Keras' own fit.
        self.step_loop = None
        # train_cpu: process CPU seconds (all threads) during fit(); cpu_cores_in_fit is
        # train_cpu / train, the cores kept busy on average (issue 21: measure it).
        self.timings = {"decode": 0.0, "features": 0.0, "train": 0.0, "train_cpu": 0.0,
                        "evaluate": 0.0}
        backbone = getattr(spec, "backbone", None)
        self.fine_tune = (config.fine_tune_epochs > 0 and backbone is not None
                          and backbone.fine_tune_from is not None)
        self.total_epochs = config.epochs + (config.fine_tune_epochs if self.fine_tune else 0)
        self._full_optimizer = None
        self._average = None  # training.fit.ema.WeightAverage of the fit() running
        self.train_rows = self.val_rows = None

    # -- setup ---------------------------------------------------------------------
    def build(self) -> None:
        import keras

        keras.utils.set_random_seed(self.config.seed)
        self.model, self.parts = build_split_model(self.spec, len(self.index.classes),
                                                   self.config.feature_cache)
        cfg = self.config
        optimizer = make_optimizer(cfg.optimizer, cfg.learning_rate, self._ema_momentum())
        if self.parts is not None:
            compile_model(self.parts.head, optimizer, self.config.label_smoothing)
            # The end-to-end model gets its own optimizer; the head's state is copied in
            # before each save (a shared optimizer object is not saved with the model).
            self._full_optimizer = make_optimizer(cfg.optimizer, cfg.learning_rate,
                                                  self._ema_momentum())
            compile_model(self.model, self._full_optimizer, self.config.label_smoothing)
        else:
            compile_model(self.model, optimizer, self.config.label_smoothing)

    def _ema_momentum(self) -> float:
        """The weight average's per-step momentum (``TrainConfig.ema_epochs`` over the
        planned steps per epoch; the decoded split can only be a few bad files smaller)."""
        from training.data.index import TRAIN
        from training.fit.ema import ema_momentum

        if not self.config.ema_epochs:
            return 0.0
        planned = int(np.count_nonzero(np.asarray(self.index.splits) == TRAIN))
        return ema_momentum(self.config.ema_epochs, -(-planned // self.config.batch_size))

    def adopt(self, model, state: TrainState, phase: str) -> None:
        """Continue from a checkpoint (``resume``): trained model, history, phase."""
        import keras

        self.model, self.state, self.phase, self.resumed = model, state, phase, True
        state.best_model = model if state.best_weights is not None else None
        # The same global seeds as the uninterrupted run; the batch order is a function of
        # the epoch (training.data.pipeline.EpochClock), and the augmentation and dropout
        # random streams are layer state saved in model_last.keras, so both continue.
        keras.utils.set_random_seed(self.config.seed)

    def release(self) -> None:
        """Drop the model, close the data (its store lock) and features, so memory can be freed."""
        if self.data is not None:
            self.data.close()
        self.model = self.parts = self.data = None
        self.train_rows = self.val_rows = None
        self.state.best_weights = self.state.best_model = None

    # -- the run -------------------------------------------------------------------
    def run(self) -> runs.RunSummary:
        _runs_in_process[0] += 1
        try:
            self._prepare_data()
            self._head_phase()
            self._fine_tune_phase()
        except Stopped:
            self.state.stopped = True
        except KeyboardInterrupt:
            self.state.stopped = True
            self._finish(evaluate=False)
            raise
        except BaseException as exc:
            self._fail(exc)
            raise
        return self._finish()

    def _prepare_data(self) -> None:
        """Open the batch reader: nothing is decoded up front; the first epoch streams."""
        from training.data import DatasetError, open_images
        from training.data.index import TRAIN, VALIDATION

        t = time.perf_counter()
        size = tuple(int(v) for v in self.spec.input_size)
        self.data = open_images(self.index, size, self.spec.color_mode, self.events)
        self.timings["decode"] = time.perf_counter() - t
        tr, va = self.data.split_rows(TRAIN), self.data.split_rows(VALIDATION)
        if not len(tr):
            raise DatasetError(f"No training images left in {self.index.root} after decoding "
                               f"({len(self.index.bad_files)} bad files); nothing to train on.")
        self.train_rows, self.val_rows = tr, (va if len(va) else None)
        if self.val_rows is None:
            self.events.on_status("No validation images: the best epoch is chosen by training loss.")
        self._write_counts()

    def _write_counts(self) -> None:
        """Images used per split: known bad files are dropped from their batches, and a
        first run only knows them all once it has read every file (so this is written
        again at the end)."""
        if self.train_rows is None or self.writer is None:
            return
        bad = self.index.unusable
        val = self.val_rows.tolist() if self.val_rows is not None else []
        self.writer.update(num_train=sum(1 for r in self.train_rows.tolist() if r not in bad),
                           num_val=sum(1 for r in val if r not in bad),
                           bad_files=len(self.index.bad_files), data_mode=self.data.mode)

    def _image_datasets(self):
        cfg = self.config
        train_ds = self.data.dataset(self.train_rows, cfg.batch_size, True, cfg.seed)
        val_ds = self.data.dataset(self.val_rows, self._validation_batch(), False, cfg.seed) \
            if self.val_rows is not None else None
        return train_ds, val_ds

    def _validation_batch(self) -> int:
        """:func:`validation_batch`; the distributed step loop keeps the training batch
        (its global batch is split across replicas)."""
        if self.step_loop is not None:
            return self.config.batch_size
        return validation_batch(self.config.batch_size, len(self.val_rows), self.data.shape)

    def _train_labels(self) -> np.ndarray:
        return np.asarray(self.index.labels)[np.asarray(self.train_rows, dtype=np.int64)]

    def _batches(self) -> int:
        return -(-len(self.train_rows) // self.config.batch_size)

    def _head_phase(self) -> None:
        cfg = self.config
        if self.phase != "train" or self.state.head_finished:
            return
        if self.state.epochs_done >= cfg.epochs:
            self.state.head_finished = True
            return
        self.events.check_stop()
        if self.parts is not None and not self.resumed:
            t = time.perf_counter()
            self.events.on_status("Computing backbone features once (frozen backbone)…")
            # Features go to a memory-mapped file, never into RAM whole (deleted afterwards).
            with FeatureStore() as fs:
                feats, fy = compute_features_from(self.parts.features, self.data, self.train_rows, fs,
                                                  "train", events=self.events,
                                                  what="computing features (train)")
                val = None
                if self.val_rows is not None:
                    vf, vy = compute_features_from(self.parts.features, self.data, self.val_rows, fs,
                                                   "validation", events=self.events,
                                                   what="computing features (validation)")
                    val = feature_dataset(vf, vy, cfg.batch_size, False, cfg.seed)
                self.timings["features"] = time.perf_counter() - t
                train_ds = feature_dataset(feats, fy, cfg.batch_size, True, cfg.seed)
                self._fit(self.parts.head, train_ds, val, "train", cfg.epochs)
                del feats, train_ds, val
        else:
            self._fit(self.model, *self._image_datasets(), "train", cfg.epochs)
        if not self.state.stopped:
            self.state.head_finished = True

    def _fine_tune_phase(self) -> None:
        from training.models import set_trainable_for_fine_tune

        cfg = self.config
        if self.state.stopped or not self.fine_tune:
            return
        head_epochs = sum(1 for h in self.state.history if h["phase"] == "train")
        target = head_epochs + cfg.fine_tune_epochs
        if self.state.epochs_done >= target:
            return
        self.events.check_stop()
        if self.phase != "fine_tune":
            self._best_to_full_model()
            if (cfg.restore_best and self.state.best_weights is not None
                    and not self._keeps_last_weights("train")):
                self.model.set_weights(self.state.best_weights)
            set_trainable_for_fine_tune(self.model, self.spec, self.spec.backbone.fine_tune_from)
            self._full_optimizer = None
            compile_model(self.model, make_optimizer(cfg.optimizer, cfg.fine_tune_lr,
                                                     self._ema_momentum()),
                          cfg.label_smoothing)
            self.state.wait = 0
            self.phase = "fine_tune"
            self.events.on_status(f"Fine-tuning from backbone layer {self.spec.backbone.fine_tune_from} "
                                  f"at learning rate {cfg.fine_tune_lr:g}")
        self._fit(self.model, *self._image_datasets(), "fine_tune", target)

    def _fit(self, model, train_ds, val_ds, phase: str, epochs: int) -> None:
        from training.fit.schedules import early_stop_from, lr_callbacks

        cfg = self.config
        # The schedule spans the phase, from its first epoch, not from where this fit()
        # starts: a resumed run continues the curve instead of restarting it (issue 21).
        phase_start = 0 if phase == "train" else \
            sum(1 for h in self.state.history if h["phase"] == "train")
        schedule = lr_callbacks(cfg.lr_schedule,
                                cfg.fine_tune_lr if phase == "fine_tune" else cfg.learning_rate,
                                phase_start, epochs, cfg.patience, val_ds is not None)
        cb = EventsCallback(self.events, self.state, phase, self.total_epochs, self._batches(),
                            early_stopping=self.config.early_stopping, patience=self.config.patience,
                            on_epoch_saved=lambda info, improved: self._epoch_saved(phase, improved),
                            stop_from=early_stop_from(cfg.lr_schedule, phase_start, epochs,
                                                      self._batches()))
        if self.events.should_stop():  # fit() would reset stop_training; don't start at all
            self.state.stopped = True
            return
        from training.fit.tensorboard import RunTensorBoard

        # Per-epoch scalars + learning rate; an epoch cut short by a stop is left out.
        tensorboard = RunTensorBoard(self.writer.path, skip_epoch=lambda: self.state.stopped)
        from training.fit import execution
        from training.fit.device import has_gpu

        planned = (epochs - phase_start) * self._batches()  # the phase's, so resume agrees
        if execution.prepare(self.spec, model, self._batches(), epochs - phase_start, has_gpu(),
                             self.step_loop is not None)[1]:
            self.events.on_status(execution.XLA_STATUS.format(steps=planned))
        # Before the EventsCallback, so that its epoch end sees the averaged weights.
        self._average = WeightAverage(model, model.optimizer)
        t, cpu = time.perf_counter(), process_cpu_seconds()
        try:
            callbacks = averaged_callbacks(self._average, cb, EpochClockCallback(train_ds),
                                           tensorboard, *schedule)
            class_weight = self.config.class_weight_for(self.index.classes, self._train_labels())
            if self.step_loop is not None:
                self.step_loop.fit(model, train_ds, val_ds, epochs, self.state.epochs_done,
                                   callbacks, class_weight)
            else:
                model.fit(train_ds, validation_data=val_ds, epochs=epochs,
                          initial_epoch=self.state.epochs_done, callbacks=callbacks, verbose=0,
                          class_weight=class_weight,
                          shuffle=False)  # the tf.data pipeline shuffles (seeded) itself
        finally:
            self._average.settle()  # the model holds the averaged weights from here on
            tensorboard.close()
            self.timings["train"] += time.perf_counter() - t
            self.timings["train_cpu"] += process_cpu_seconds() - cpu

    # -- checkpoints ---------------------------------------------------------------
    def _epoch_saved(self, phase: str, improved: bool) -> None:
        """After each complete epoch: history, best model, resumable last model, run.json."""
        w, st = self.writer, self.state
        w.write_history(st.history)
        averaged = self._average is not None and self._average.swapped
        if improved and self.config.checkpoint_best and averaged:
            w.save_model(self.model, MODEL_BEST)  # the averaged weights, as validated
        if self._average is not None:
            self._average.swap_out()  # model_last: the raw weights, the average in the optimizer
        self._sync_full_optimizer()
        w.save_model(self.model, MODEL_LAST)  # optimizer state included
        if improved and self.config.checkpoint_best and not averaged:
            w.copy_model(MODEL_LAST, MODEL_BEST)
        best = st.best_entry() or {}
        w.update(epochs_done=st.epochs_done, best_epoch=st.best_epoch, best_val_loss=best.get("val_loss"),
                 best_val_accuracy=best.get("val_accuracy"),
                 checkpoint={"epoch": st.epochs_done, "phase": phase, **st.to_dict(),
                             "rng_state": seed_states(self.model)})

    def _sync_full_optimizer(self) -> None:
        """Copy the head optimizer's state into the end-to-end model's (feature path)."""
        if self.parts is None or self._full_optimizer is None or self.phase != "train":
            return
        head_opt, full_opt = self.parts.head.optimizer, self._full_optimizer
        if not full_opt.built:
            full_opt.build(self.model.trainable_variables)
        if len(full_opt.variables) == len(head_opt.variables):
            for dst, src in zip(full_opt.variables, head_opt.variables):
                dst.assign(src)
