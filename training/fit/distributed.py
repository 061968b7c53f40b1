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
  value (PerReplica…) … to a Tensor"), so ``training.fit.step_loop.StepLoop`` replaces
  ``fit`` with a custom loop: ``strategy.run`` over ``experimental_distribute_dataset``,
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
from dataclasses import dataclass
from pathlib import Path


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
