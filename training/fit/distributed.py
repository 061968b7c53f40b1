"""Training on several devices or machines with ``tf.distribute``.

Two cases, chosen by ``TrainConfig.devices`` and ``TrainConfig.multi_worker``:

- **One machine, several devices** (``devices="all"`` or a list): a
  ``MirroredStrategy``; the model is built, compiled (and, on resume, loaded) inside
  ``strategy.scope()``. Keras documents ``Model.fit`` under it, but here (Keras 3.15,
  TF 2.21) ``fit`` failed on the epoch's short last batch ("Inputs to operation AddN
  … must have the same size and shape. Input 0: [2,8,8,1] != input 1: [1,8,8,1]"), so
  it uses the same step loop as several machines.
- **Several machines** (``multi_worker=True``): a ``MultiWorkerMirroredStrategy``
  from ``TF_CONFIG``, or from Slurm's variables through ``SlurmClusterResolver``. Keras
  3.15's ``Model.fit`` fails under it (keras-team/keras#20585: "Attempt to convert a
  value (PerReplica…) … to a Tensor"), so :class:`StepLoop` replaces ``fit`` with a
  custom loop: ``strategy.run`` over ``experimental_distribute_dataset``,
  ``tf.nn.compute_average_loss`` and the model's Keras optimizer (created inside the
  scope by ``compile``). Everything else is the single-device code: the loop drives the
  same :class:`~training.fit.callbacks.EventsCallback` (progress, epochs, early stopping,
  best weights, checkpoints through the session's writer), so history, checkpoints,
  resume and evaluation keep their meaning.

Batch size and learning rate: ``TrainConfig.batch_size`` is the batch **per replica**;
the global batch of one step is ``batch_size × replicas``. The learning rate is used as
given (no automatic scaling); see docs/DISTRIBUTED.md for the linear-scaling rule.

Every worker runs the whole session (same seed, same data path, same steps); each takes
its shard of every global batch (``AutoShardPolicy.DATA``: the in-memory dataset has no
files to shard by). Only the chief (task 0) writes the run folder; the other workers
write theirs to a private temporary folder. A stop (GUI request file, Ctrl-C) seen by
any worker is all-reduced with each step, so all workers stop after the same step.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from training.events import Events

log = logging.getLogger(__name__)


class DistributedError(RuntimeError):
    """A multi-worker run cannot start or lost a worker (the message says what to do)."""


class DeviceError(ValueError):
    """``devices`` names a device this machine does not have (bad input)."""


@dataclass
class Placement:
    """Where a run trains: the strategy and what the run folder records about it."""

    strategy: object            # a tf.distribute.Strategy
    kind: str                   # "one" | "mirrored" | "multi-worker"
    replicas: int
    devices: list[str]
    chief: bool = True
    task: str = ""              # "worker:1" for multi-worker runs
    workers: int = 1

    @property
    def custom_loop(self) -> bool:
        return self.kind != "one"

    def record(self, per_replica_batch: int) -> dict:
        return {"strategy": self.kind, "replicas": self.replicas, "devices": list(self.devices),
                "workers": self.workers, "task": self.task,
                "per_replica_batch": per_replica_batch,
                "global_batch": per_replica_batch * self.replicas}


def resolve_devices(devices: str) -> list[str]:
    """``"one"`` -> [], ``"all"`` -> every GPU, ``"GPU:0,GPU:1"`` / ``"0,1"`` -> those.

    Raises:
        DeviceError: a listed device does not exist (the message lists those that do).
    """
    import tensorflow as tf

    text = (devices or "one").strip().lower()
    if text == "one":
        return []
    if text == "all":
        return [d.name for d in tf.config.list_logical_devices("GPU")]
    available = {d.name.lower().split("device:")[-1]: d.name
                 for kind in ("GPU", "CPU") for d in tf.config.list_logical_devices(kind)}
    out = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        key = f"gpu:{part}" if part.isdigit() else part.lstrip("/").split("device:")[-1]
        if key not in available:
            raise DeviceError(f"Unknown device {part!r} in devices={devices!r}. Available: "
                             f"{', '.join(sorted(available)) or 'none'}")
        out.append(available[key])
    return out


def placement(config) -> Placement:
    """The strategy for ``config`` (create it before TensorFlow runs any op).

    Raises:
        DistributedError: multi-worker without ``TF_CONFIG`` or a Slurm job, or a bad
            ``TF_CONFIG``.
        DeviceError: an unknown device in ``config.devices``.
    """
    import tensorflow as tf

    if getattr(config, "multi_worker", False):
        return _multi_worker()
    names = resolve_devices(getattr(config, "devices", "one"))
    if len(names) <= 1:
        strategy = tf.distribute.get_strategy()  # the default: one device, no copies
        return Placement(strategy, "one", 1, names or ["default"])
    strategy = tf.distribute.MirroredStrategy(devices=names)
    return Placement(strategy, "mirrored", strategy.num_replicas_in_sync, names)


def _multi_worker() -> Placement:
    import tensorflow as tf

    resolver = _cluster_resolver()
    spec = resolver.cluster_spec().as_dict()
    workers = sum(len(v) for k, v in spec.items() if k in ("chief", "worker"))
    # Each collective needs a free inter-op thread per peer, or the cluster may hang
    # (TF's multi_worker_test_base sets this for the same reason).
    wanted = workers + 1
    current = tf.config.threading.get_inter_op_parallelism_threads()  # 0: TF's default
    if current < wanted:
        try:
            tf.config.threading.set_inter_op_parallelism_threads(max(wanted, os.cpu_count() or 1))
        except RuntimeError as exc:  # TensorFlow already initialised: too late to change
            log.warning("Could not raise inter-op threads to %d: %s", wanted, exc)
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    except (ValueError, RuntimeError) as exc:
        raise DistributedError(f"Could not join the cluster {spec}: {exc}") from None
    task_type, task_id = resolver.task_type, int(resolver.task_id or 0)
    chief = task_type == "chief" or (task_type == "worker" and task_id == 0 and "chief" not in spec)
    local = [d.name for d in tf.config.list_logical_devices("GPU")] or ["CPU:0"]
    return Placement(strategy, "multi-worker", strategy.num_replicas_in_sync, local, chief=chief,
                     task=f"{task_type}:{task_id}", workers=workers)


def cluster_configured() -> bool:
    """True when this process was started as a cluster worker (TF_CONFIG or Slurm)."""
    return bool(os.environ.get("TF_CONFIG")) or os.environ.get("SLURM_PROCID") is not None


def _cluster_resolver():
    import tensorflow as tf

    cr = tf.distribute.cluster_resolver
    if os.environ.get("TF_CONFIG"):
        try:
            conf = json.loads(os.environ["TF_CONFIG"])
        except ValueError as exc:
            raise DistributedError(f"TF_CONFIG is not valid JSON: {exc}. Received: "
                                   f"{os.environ['TF_CONFIG'][:200]!r}") from None
        if not isinstance(conf, dict) or "cluster" not in conf or "task" not in conf:
            raise DistributedError("TF_CONFIG needs 'cluster' and 'task' (see "
                                   f"docs/DISTRIBUTED.md). Received: {os.environ['TF_CONFIG'][:200]!r}")
        return cr.TFConfigClusterResolver()
    if os.environ.get("SLURM_PROCID") is not None:
        return cr.SlurmClusterResolver(port_base=int(os.environ.get("WORKBENCH_SLURM_PORT", 8888)))
    raise DistributedError("--strategy multi-worker needs TF_CONFIG (one JSON per worker) or a "
                           "Slurm job step (srun); neither was found. See docs/DISTRIBUTED.md.")


NO_AUTH_WARNING = ("TensorFlow's multi-worker runtime (gRPC) has no authentication and no "
                   "encryption: anyone who can reach the workers' ports can run operations in "
                   "these processes and read what they train on. Run it on a trusted network "
                   "only (see docs/DISTRIBUTED.md).")


def exposed_workers(tf_config: str | None = None) -> tuple[list[str], list[str]]:
    """``(addresses that are neither loopback nor private, host names not checked)`` among
    the workers ``TF_CONFIG`` lists (empty without one). A name is not resolved: a DNS
    lookup can hang, and the answer may differ on the other machines."""
    import ipaddress

    text = os.environ.get("TF_CONFIG") if tf_config is None else tf_config
    try:
        cluster = json.loads(text).get("cluster") if text else None
    except (ValueError, AttributeError):
        return [], []
    exposed, names = [], []
    for addresses in (cluster.values() if isinstance(cluster, dict) else []):
        for address in addresses if isinstance(addresses, list) else []:
            host = str(address).rsplit(":", 1)[0].strip("[]")
            try:
                ip = ipaddress.ip_address(host)
            except ValueError:
                if host.lower() not in ("localhost", "localhost.localdomain"):
                    names.append(str(address))
                continue
            if not (ip.is_loopback or ip.is_private or ip.is_link_local):
                exposed.append(str(address))
    return exposed, names


def network_warnings(tf_config: str | None = None) -> list[str]:
    """What the CLI says before a multi-worker run: the runtime has no authentication, and
    which worker addresses are reachable from outside a private network."""
    exposed, names = exposed_workers(tf_config)
    out = [NO_AUTH_WARNING]
    if exposed:
        out.append(f"worker address{'es' if len(exposed) > 1 else ''} {', '.join(exposed)} "
                   f"{'are' if len(exposed) > 1 else 'is'} neither loopback nor in a private "
                   "range (10/8, 172.16/12, 192.168/16, fc00::/7): the ports would be open to "
                   "the internet. Use private addresses, a VPN or a firewall.")
    if names:
        out.append(f"worker host name{'s' if len(names) > 1 else ''} {', '.join(names[:5])} "
                   f"not checked: make sure {'they resolve' if len(names) > 1 else 'it resolves'} to a "
                   "private network.")
    return out


def worker_run_dir(task: str) -> str:
    """A non-chief worker's private run folder (the same files as the chief's; it is
    where that worker's checkpoints go, and nobody else reads it)."""
    safe = task.replace(":", "")
    return tempfile.mkdtemp(prefix=f"workbench-{safe}-")


def private_copy(run_dir, task: str) -> str:
    """A non-chief worker resumes from its own copy of the shared run folder."""
    from training.runs.runfolder import RUN_JSON, RunError, RunFolder

    src = RunFolder(run_dir)
    if not src.is_run():
        raise RunError(f"Not a run folder: {src.path} has no {RUN_JSON}")
    dst = Path(worker_run_dir(task))
    for item in src.path.iterdir():
        # Not through links: a shared run folder's files are its own (issue 25).
        if item.is_file() and not item.is_symlink() and not item.name.endswith(".tmp"):
            shutil.copy2(item, dst / item.name)
    copy = RunFolder(dst)
    if copy.read_info().get("status") == "running":
        # The chief may already have marked the shared run as running again.
        copy.update_info(status="interrupted")
    return str(dst)


def saved_config(run_dir, overrides: dict):
    """The run's ``config.json`` with ``overrides`` (devices, multi_worker) applied."""
    from training.recipe.config import TrainConfig
    from training.runs.runfolder import RunError, RunFolder

    folder = RunFolder(run_dir)
    path = folder.config_json
    try:
        config = TrainConfig.from_dict(folder.read_config())
        if config.multi_worker and "multi_worker" not in overrides and not cluster_configured():
            # A multi-worker run resumed without a cluster (the GUI, a plain --resume):
            # continue it on this machine rather than refuse.
            overrides = {**overrides, "multi_worker": False}
        return dataclasses.replace(config, **overrides) if overrides else config
    except ValueError as exc:
        if isinstance(exc, RunError):
            raise
        raise RunError(f"{path}: {exc}") from None


def step_config(config, place: Placement):
    """The config a session trains with: ``batch_size`` is the global batch of one step."""
    if place.replicas == 1:
        return config
    return dataclasses.replace(config, batch_size=config.batch_size * place.replicas)


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
