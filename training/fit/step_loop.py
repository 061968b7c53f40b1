"""The step loop that replaces ``Model.fit`` under a ``tf.distribute`` strategy.

Keras 3.15's ``Model.fit`` fails under ``MultiWorkerMirroredStrategy``
(keras-team/keras#20585) and, here, under ``MirroredStrategy`` on an epoch's short last
batch; see ``training.fit.distributed`` for where each is chosen. :class:`StepLoop` runs
``strategy.run`` over ``experimental_distribute_dataset`` with the model's own Keras
optimizer and drives the same callbacks as ``fit``, so history, checkpoints, resume and
evaluation keep their meaning. A stop seen by any worker is all-reduced with each step.
:func:`attach` gives a session its writer, its run-folder events and, where needed, the loop.
"""
from __future__ import annotations

import time

from training.events import Events
from training.fit.distributed import DistributedError, Placement


def attach(session, writer, place: Placement, config) -> None:
    """Give ``session`` its writer, the run-folder events (``live.json``, the stop
    request) and, under a multi-worker strategy, the step loop; record the placement."""
    from training.runs.follow import RunFolderEvents

    session.writer = writer
    session.events = RunFolderEvents(session.events, writer.path)
    if place.kind != "one":
        record = place.record(config.batch_size)
        writer.update(distribution=record)
        session.events.on_status(
            f"{place.kind}: {place.replicas} replicas ({', '.join(place.devices)}"
            + (f"; {place.workers} workers, this is {place.task}" if place.workers > 1 else "")
            + f"), global batch {record['global_batch']} = {config.batch_size} per replica "
            f"x {place.replicas}")
    if place.custom_loop:
        session.step_loop = StepLoop(place, session.events)


class _SyncedStop(Events):
    """The callback's events, with ``should_stop`` answering the all-reduced stop flag."""

    def __init__(self, inner: Events, loop: "StepLoop"):
        self.inner, self.loop = inner, loop

    def on_status(self, message):
        self.inner.on_status(message)

    def on_progress(self, done, total, what):
        self.inner.on_progress(done, total, what)

    def on_batch(self, info):
        self.inner.on_batch(info)

    def on_epoch(self, info):
        self.inner.on_epoch(info)

    def should_stop(self) -> bool:
        return self.loop.stop_all


class StepLoop:
    """``Model.fit`` for ``MirroredStrategy`` and ``MultiWorkerMirroredStrategy`` (see
    the module docstring): short and even empty per-replica batches are fine, because the
    loss is averaged over the all-reduced count of each step.

    Args:
        placement: the run's :class:`Placement`.
        events: the session's events (polled for a local stop before every step).
    """

    def __init__(self, placement: Placement, events: Events):
        self.placement, self.events = placement, events
        self.stop_all = False
        self.step_times: list[float] = []
        self._fns: dict = {}

    def fit(self, model, train_ds, val_ds, epochs: int, initial_epoch: int, callbacks: list,
            class_weight: dict | None = None) -> None:
        """Like ``model.fit``: one of ``callbacks`` is the session's ``EventsCallback``; the
        others (the weight average, TensorBoard, learning-rate schedules) get the same
        hooks, validation's ``on_test_begin``/``on_test_end`` included (the weight average
        swaps the averaged weights in there, as in ``model.fit``)."""
        from training.fit.callbacks import EventsCallback

        import keras
        import tensorflow as tf

        strategy = self.placement.strategy
        callback = next(c for c in callbacks if isinstance(c, EventsCallback))
        callback.events = _SyncedStop(callback.events, self)
        hooks = keras.callbacks.CallbackList(list(callbacks), model=model)
        train_step, test_step = self._functions(model, class_weight)
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        # One distributed iterator for the whole fit, over the repeated dataset.
        steps = int(tf.data.experimental.cardinality(train_ds))
        steps = steps if steps > 0 else callback.batches
        train_dist = iter(strategy.experimental_distribute_dataset(
            train_ds.repeat().with_options(options)))
        model.stop_training = False
        hooks.on_train_begin()
        try:
            with strategy.scope():
                if not model.optimizer.built:  # its slots, mirrored, before the first step
                    model.optimizer.build(model.trainable_variables)
                self._epochs(model, train_dist, steps, val_ds, epochs, initial_epoch,
                             callback, hooks, train_step, test_step)
        except tf.errors.OpError as exc:
            if self.placement.kind != "multi-worker":
                raise
            raise DistributedError(_lost_worker_message(exc, self.placement)) from None
        hooks.on_train_end()

    def _epochs(self, model, train_dist, steps, val_ds, epochs, initial_epoch, callback, hooks,
                train_step, test_step) -> None:
        import tensorflow as tf

        for epoch in range(initial_epoch, epochs):
            hooks.on_epoch_begin(epoch)
            totals = [0.0, 0.0, 0.0]  # loss sum, correct, count (global)
            for batch in range(steps):
                inputs = next(train_dist)
                local_stop = 1.0 if self.events.should_stop() else 0.0
                t = time.perf_counter()
                loss, correct, count, stop = train_step(inputs, tf.constant(local_stop))
                self.step_times.append(time.perf_counter() - t)
                if float(stop) > 0:
                    self.stop_all = True  # every worker sees the same sum
                    callback.state.stopped = True
                    break
                for i, v in enumerate((loss, correct, count)):
                    totals[i] += float(v)
                hooks.on_train_batch_end(batch, _logs(totals))
            if self.stop_all:
                break
            logs = _logs(totals)
            if val_ds is not None:
                hooks.on_test_begin()  # the stop it polls is the all-reduced one: no split
                v = [0.0, 0.0, 0.0]
                for x, y in val_ds:
                    for i, t in enumerate(test_step(x, y)):
                        v[i] += float(t)
                val_logs = _logs(v)
                hooks.on_test_end(val_logs)
                logs.update({f"val_{k}": x for k, x in val_logs.items()})
            hooks.on_epoch_end(epoch, logs)
            if model.stop_training:  # early stopping decided on all-reduced numbers
                break

    def _functions(self, model, class_weight: dict | None = None):
        import keras
        import tensorflow as tf

        key = (id(model), repr(sorted((class_weight or {}).items())))
        if key in self._fns:
            return self._fns[key]
        strategy = self.placement.strategy
        binary = model.output_shape[-1] == 1
        loss_obj = (keras.losses.BinaryCrossentropy(reduction=None) if binary
                    else keras.losses.SparseCategoricalCrossentropy(reduction=None))
        optimizer = model.optimizer
        weights = None
        if class_weight:  # Keras' class_weight: each sample's loss times its class's weight
            n = max(class_weight) + 1
            weights = tf.constant([float(class_weight.get(i, 1.0)) for i in range(n)], tf.float32)

        def counts(y, probs):
            y = tf.reshape(tf.cast(y, tf.int64), [-1])
            pred = (tf.reshape(tf.cast(probs > 0.5, tf.int64), [-1]) if binary
                    else tf.argmax(probs, axis=-1))
            return tf.reduce_sum(tf.cast(tf.equal(pred, y), tf.float32))

        def per_example(x, y, training):
            probs = model(tf.cast(x, tf.float32), training=training)
            labels = tf.cast(tf.reshape(y, [-1, 1]), tf.float32) if binary else y
            losses = loss_obj(labels, probs)
            if weights is not None and training:
                losses = losses * tf.gather(weights, tf.reshape(tf.cast(y, tf.int32), [-1]))
            return probs, losses

        def replica_train(x, y, local_stop):
            ctx = tf.distribute.get_replica_context()
            # The global count of this step (the last batch may be short, or empty here).
            n = ctx.all_reduce("SUM", tf.shape(y, out_type=tf.int64)[0])
            with tf.GradientTape() as tape:
                probs, losses = per_example(x, y, True)
                loss = tf.nn.compute_average_loss(
                    losses, global_batch_size=tf.maximum(n, tf.constant(1, tf.int64)))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            # > 0 when any worker wants to stop. "+ 0.0" makes a per-replica copy: the
            # captured input itself has no device, and all_reduce refuses it.
            stop = ctx.all_reduce("SUM", local_stop + 0.0)
            return tf.reduce_sum(losses), counts(y, probs), tf.cast(tf.shape(y)[0], tf.float32), stop

        def replica_test(x, y):
            probs, losses = per_example(x, y, False)
            return tf.reduce_sum(losses), counts(y, probs), tf.cast(tf.shape(y)[0], tf.float32)

        def reduce(values):
            return tuple(strategy.reduce("SUM", v, axis=None) for v in values)

        @tf.function
        def train_step(inputs, local_stop):
            x, y = inputs
            loss, correct, count, stop = strategy.run(replica_train, args=(x, y, local_stop))
            # stop is already the all-reduced sum: take this worker's first copy of it.
            return (*reduce((loss, correct, count)), strategy.experimental_local_results(stop)[0])

        @tf.function(reduce_retracing=True)
        def test_step(x, y):
            # Every worker validates the whole validation set itself: the weights are the
            # same everywhere, and no collective is needed (a distributed finite dataset
            # with a short last batch took ~40 s to end here).
            return replica_test(x, y)

        self._fns[key] = (train_step, test_step)
        return self._fns[key]


def _logs(totals) -> dict:
    loss, correct, count = totals
    if count <= 0:
        return {}
    return {"loss": loss / count, "accuracy": correct / count}


def _lost_worker_message(exc, placement: Placement) -> str:
    first = (getattr(exc, "message", "") or str(exc)).strip().splitlines()
    reason = next((line for line in first if line.strip()), type(exc).__name__)[:300]
    return (f"Lost contact with another worker of this {placement.workers}-worker run "
            f"(this is {placement.task}): {reason}. The run folder keeps the last finished "
            "epoch; start every worker again with --resume RUN_DIR, or resume on one machine.")
