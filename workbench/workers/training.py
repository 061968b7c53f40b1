"""The training job: a worker thread that supervises a training *process*.

Every training (a new run, a resume, a retrain with label fixes) runs in a process of
its own, ``python -m training train … --events`` (the CLI, see
:mod:`training.cli.stream`), so the window never runs TensorFlow, a crash or an
out-of-memory kill of the training cannot take the window down, and the GPU memory a
run took is the system's again when the process exits.

:class:`TrainingWorker` keeps the app's worker shape (a ``QObject`` on a ``QThread``,
run by a :class:`~workbench.workers.job_runner.JobRunner`): on its thread it writes the
job's files, starts the process (or hands the job to a spare one, see
:mod:`workbench.workers.spare_trainer`), reads the event stream line by line (blocking
reads: no polling) and emits every status, progress, batch and epoch as a signal
carrying plain data. It imports no TensorFlow and creates no widgets; the only Qt
object it touches is itself.

Ownership: the worker is created on the GUI thread and moved to its thread by
``JobRunner``; the process, its pipes and the job's temporary files are owned by
:meth:`TrainingWorker.work` and released there before it returns (the thread ends only
once the process has ended). :meth:`request_stop` and :meth:`force_stop` may be called
from the GUI thread at any time: the first writes the run folder's stop request (the
same one a followed run gets, ``training.runs.follow.request_stop``), the second kills
the process group. A process that dies without finishing (killed, crashed) leaves its
run marked ``interrupted``, resumable from its last epoch's checkpoint.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

from PySide6.QtCore import Signal

from training.events import Stopped
from workbench.workers import children
from workbench.workers.base import Worker

log = logging.getLogger(__name__)

JOB_FILES = ("model-spec.job.json", "train-config.job.json")   # the job's spec and config
SHUTDOWN_GRACE_S = 3.0   # window closing: a cooperative stop gets this long, then a kill


class TrainingError(Exception):
    """The training process reported an error (its message is for the user)."""


@dataclass
class TrainingJob:
    """What to train, as plain data (the process reads it from files and arguments).

    Attributes:
        dataset: ``DatasetSpec.to_dict()`` of a new run (the process reopens it, with
            its label fixes from the overlay file).
        spec: ``ModelSpec.to_dict()``; None: the CNN template sized for ``index``.
        config: ``TrainConfig.to_dict()``; None: the defaults.
        resume: a run folder to continue instead (the other fields are then unused).
        index: the open ``DatasetIndex``, only to size the default template.
        runs_root: where the new run folder goes (None: the default runs root).
    """

    dataset: dict | None = None
    spec: dict | None = None
    config: dict | None = None
    resume: str | None = None
    index: object = None
    runs_root: str | None = None


class TrainingWorker(Worker):
    """Run one :class:`TrainingJob` in a training process (see module docstring).

    Signals:
        runFolder(str): the run folder, as soon as it is known (before the process
            starts): the panel follows it from then on.
        device(dict): the process's ``device`` event (name, gpus, mixed_precision,
            problem).
        specUsed(dict): the spec trained (the default template when none was chosen).
        stopAcknowledged(float): seconds from :meth:`request_stop` until the process
            reported that training had stopped (its next status line).
    """

    runFolder = Signal(str)
    device = Signal(dict)
    specUsed = Signal(dict)
    stopAcknowledged = Signal(float)

    # The training program: ``python -m training`` (tests put a wrapper of the same CLI here).
    program: tuple = (sys.executable, "-m", "training")

    def __init__(self, job: TrainingJob, spare=None):
        super().__init__()
        self.job, self.spare = job, spare
        self.stop_requested_at: float | None = None
        self._lock = threading.Lock()
        self._child: children.Child | None = None
        self._run_dir: str | None = None
        self._forced = False
        self._acked = False
        self._files: str | None = None   # the job's temporary folder
        self._ended = threading.Event()   # work() is over: the process has ended

    # ------------------------------------------------------------ any thread
    def request_stop(self) -> None:
        """Ask the process to stop after its current batch (it saves the run)."""
        if self.stop_requested_at is None:
            self.stop_requested_at = time.monotonic()
        super().request_stop()
        self._send_stop()

    def force_stop(self) -> None:
        """Kill the process now; the run stays resumable from its last checkpoint."""
        with self._lock:
            self._forced = True
            child = self._child
        super().request_stop()
        if child is not None:
            children.kill(child)

    def stop_within(self, seconds: float = SHUTDOWN_GRACE_S) -> bool:
        """Window closing: ask the process to stop and kill it if it has not ended within
        ``seconds``. Returns True when it stopped by itself (or was not running)."""
        self.request_stop()
        if self._ended.wait(seconds):
            return True
        self.force_stop()
        return False

    def process_id(self) -> int | None:
        with self._lock:
            return self._child.proc.pid if self._child is not None else None

    def _send_stop(self) -> None:
        with self._lock:
            child, run_dir = self._child, self._run_dir
        if child is None or run_dir is None:
            return   # work() sends it as soon as the process runs
        from training.runs.follow import request_stop

        try:
            request_stop(run_dir, who="workbench", pid=child.proc.pid)
        except OSError as exc:
            log.warning("Could not write the stop request into %s: %s", run_dir, exc)

    # ------------------------------------------------------------ worker thread
    def work(self) -> dict:
        try:
            return self._supervise()
        finally:
            self._ended.set()

    def _supervise(self) -> dict:
        job = self.job
        args, run_dir = self._arguments()
        with self._lock:
            self._run_dir = run_dir
        self.runFolder.emit(run_dir)
        files = self._files = tempfile.mkdtemp(prefix="workbench-train-")
        try:
            if self.stop_requested():
                raise Stopped()
            args = self._write_job(files, args)
            self.events.on_status("Starting the training process…")
            child = self._start(args)
            with self._lock:
                self._child = child
                forced = self._forced
            if forced:
                children.kill(child)   # Force stop while the process was starting
            elif self.stop_requested():
                self._send_stop()   # Stop pressed while the process was starting
            try:
                end = self._read_stream(child)
            finally:
                code = children.release(child)
            return self._outcome(end, code, child, run_dir)
        finally:
            shutil.rmtree(files, ignore_errors=True)
            if not job.resume:
                _remove_if_empty(run_dir)

    def _arguments(self) -> tuple[list[str], str]:
        job = self.job
        if job.resume:
            return ["--resume", job.resume], job.resume
        from training.runs.runfolder import new_run_dir

        spec = job.spec
        if spec is None:
            spec = default_spec(job.index).to_dict()
        self.specUsed.emit(dict(spec))
        self.job.spec = spec
        run_dir = str(new_run_dir(spec.get("name") or spec.get("template") or "model",
                                  root=job.runs_root))
        ds = job.dataset or {}
        args = [str(ds["path"]), "--kind", str(ds.get("kind") or "auto")]
        for key, option in (("images_dir", "--images"), ("id_column", "--id-column"),
                            ("label_column", "--label-column")):
            if ds.get(key):
                args += [option, str(ds[key])]
        for key, option in (("val_fraction", "--val-fraction"), ("test_fraction", "--test-fraction"),
                            ("seed", "--seed")):
            if ds.get(key) is not None:
                args += [option, str(ds[key])]
        return args + ["--out", run_dir], run_dir

    def _write_job(self, folder: str, args: list[str]) -> list[str]:
        job = self.job
        if job.resume:
            return args
        from training.recipe.config import TrainConfig
        from training.safefiles import write_json

        spec_path, config_path = (os.path.join(folder, name) for name in JOB_FILES)
        write_json(spec_path, job.spec)
        write_json(config_path, job.config if job.config is not None else TrainConfig().to_dict())
        return args + ["--spec", spec_path, "--config", config_path]

    def _start(self, args: list[str]) -> children.Child:
        # A background job (lower CPU priority): the window's GUI thread must get a core
        # at once when it has work (training.cpus.run_in_background).
        args = [*args, "--events", "--background"]
        child = self.spare.claim(args) if self.spare is not None else None
        if child is not None:
            return child
        return children.spawn([*self.program, "train", *args], "train")

    def _read_stream(self, child: children.Child) -> dict | None:
        """Every event until the process closes its stdout; returns the ``end`` event."""
        end = None
        for raw in child.proc.stdout:
            try:
                msg = json.loads(raw)
            except ValueError:
                log.debug("Not an event: %r", raw[:200])
                continue
            if not isinstance(msg, dict):
                continue
            kind = msg.get("type")
            if kind == "status":
                self._status(str(msg.get("message", "")))
            elif kind == "progress":
                self.progress.emit(int(msg.get("done", 0)), int(msg.get("total", 0)),
                                   str(msg.get("what", "")))
            elif kind == "batch" and isinstance(msg.get("info"), dict):
                self.batch.emit(msg["info"])
            elif kind == "epoch" and isinstance(msg.get("info"), dict):
                self.epoch.emit(msg["info"])
            elif kind == "device":
                self.device.emit(msg)
            elif kind == "end":
                end = msg
        return end

    def _status(self, message: str) -> None:
        # After a stop request the process's next status line means training has ended
        # (it announces the stop, evaluation or the run's end): the Stop latency.
        if self.stop_requested_at is not None and not self._acked:
            self._acked = True
            self.stopAcknowledged.emit(time.monotonic() - self.stop_requested_at)
        self.status.emit(message)

    def _outcome(self, end: dict | None, code: int | None, child, run_dir: str) -> dict:
        if end is not None and end.get("code") == 0 and isinstance(end.get("result"), dict):
            return end["result"]
        if end is not None and end.get("error"):
            # The job's files are this worker's business: name the problem, not them.
            message = str(end["error"])
            for name in JOB_FILES:
                message = message.replace(f"{os.path.join(self._files or '', name)}: ", "")
            raise TrainingError(message)
        from training.runs.runfolder import RunFolder

        how = children.describe_exit(code)
        if self._forced:
            RunFolder(run_dir).close_dead_run("stopped", "Force-stopped from the app")
            return {"status": "stopped", "forced": True, "run_dir": run_dir}
        reason = f"The training process was {how}"
        RunFolder(run_dir).close_dead_run("interrupted", reason)
        log.error("%s while training %s. Its last output:\n%s", reason, run_dir,
                  children.log_tail(child))
        return {"status": "interrupted", "run_dir": run_dir, "exit": how,
                "details": f"{reason}.\n\nThe last lines it wrote ({child.log_path}):\n\n"
                           + (children.log_tail(child) or "(nothing)")}


def _remove_if_empty(run_dir: str) -> None:
    """The run folder made for a run that never began (stopped or failed while the
    process started) holds nothing of value: remove it, so no empty run is listed."""
    from training.runs.runfolder import RunFolder

    folder = RunFolder(run_dir)
    try:
        if folder.is_run():
            return
        for name in os.listdir(run_dir):
            os.remove(os.path.join(run_dir, name))   # at most live.json / stop.request
        os.rmdir(run_dir)
    except OSError:
        pass


def default_spec(dataset):
    """A CNN template sized for ``dataset`` (used when no model was chosen)."""
    from training.data import suggest_input
    from training.models import template

    size, colour = suggest_input(dataset)
    return template("cnn", input_size=tuple(size), color_mode=colour)
