"""The training job: runs ``training.fit.train.train`` (or ``resume``) on a worker thread.

TensorFlow is imported here, inside :meth:`TrainingWorker.work`, so it only loads once a
person actually trains. Every core callback becomes a plain-data signal (see
:mod:`workbench.workers.base`).
"""
from __future__ import annotations

import time

from PySide6.QtCore import Signal

from workbench.workers.base import Worker, SignalEvents


class TrainingWorker(Worker):
    """Train one model, or resume a stopped/interrupted run.

    Args:
        dataset: a ``DatasetIndex`` (or ``DatasetSpec``/path) for a new run.
        spec: a ``ModelSpec``, or None for a CNN template sized from the dataset.
        config: a ``TrainConfig``, or None for the defaults.
        run_dir: where to write the run (None: a new folder under the runs root).
        resume: when True, continue the run in ``run_dir`` from its last checkpoint;
            ``dataset``/``spec``/``config`` are then ignored (the run folder has them).

    Signals:
        device(str): the compute device in use ("CPU" or the GPU name).
        specUsed(dict): the spec actually trained (the default template when None).
        stopAcknowledged(float): seconds from :meth:`request_stop` until the core
            stopped training and reported it (measured on this thread, so GUI lag
            doesn't count); the core then still saves and frees memory.
    """

    device = Signal(str)
    specUsed = Signal(dict)
    stopAcknowledged = Signal(float)

    def __init__(self, dataset=None, spec=None, config=None, run_dir=None, resume=False):
        super().__init__()
        self.dataset, self.spec, self.config = dataset, spec, config
        self.run_dir, self.resume = run_dir, resume
        self.stop_requested_at: float | None = None
        self.events = _StopTimingEvents(self)

    def request_stop(self) -> None:
        if self.stop_requested_at is None:
            self.stop_requested_at = time.monotonic()
        super().request_stop()

    def work(self) -> dict:
        self.events.on_status("Loading TensorFlow…")
        from workbench.workers.tfload import ensure_tensorflow

        ensure_tensorflow()  # never import TF from two threads at once (see tfload)
        from training.fit import train as train_module  # heavy: loads TensorFlow

        self.device.emit(_device_name())
        self.events.check_stop()
        if self.resume:
            return train_module.resume(self.run_dir, events=self.events).to_dict()
        spec = self.spec if self.spec is not None else default_spec(self.dataset)
        self.specUsed.emit(spec.to_dict())
        config = self.config if self.config is not None else train_module.TrainConfig()
        summary = train_module.train(self.dataset, spec, config, self.events,
                                     run_dir=self.run_dir)
        return summary.to_dict()


class _StopTimingEvents(SignalEvents):
    """After a stop request, the core's next status line means training has ended (it
    announces evaluation or the run's end): time that for the Stop latency."""

    def __init__(self, worker: TrainingWorker) -> None:
        super().__init__(worker)
        self._acked = False

    def on_status(self, message: str) -> None:
        w = self._w
        if w.stop_requested_at is not None and not self._acked:
            self._acked = True
            w.stopAcknowledged.emit(time.monotonic() - w.stop_requested_at)
        super().on_status(message)


def default_spec(dataset):
    """A CNN template sized for ``dataset`` (used when no model was chosen)."""
    from training.data import suggest_input
    from training.models import template

    size, colour = suggest_input(dataset)
    return template("cnn", input_size=tuple(size), color_mode=colour)


def _device_name() -> str:
    try:
        from training.fit.device import describe_devices

        return str(describe_devices().get("name", "CPU"))
    except Exception:  # noqa: BLE001 - the device label is informative only
        return "CPU"
