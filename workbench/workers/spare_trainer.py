"""A training process started ahead of time, so Start does not wait for TensorFlow.

Importing TensorFlow and Keras takes a fresh process ~3-6 s here, most of the time
between Start and the first batch of a small run. :class:`SpareTrainer` keeps one
process that has done it already (``python -m training train --events --wait-for-job``)
and waits for its job on stdin; :meth:`SpareTrainer.claim` hands it the train
arguments, and it becomes that run's training process. It never touches a GPU before
its job arrives (importing TensorFlow does not initialise CUDA), so an idle spare
holds no GPU memory. Its cost is a process's memory (~0.5 GB resident here) while the
Training panel is in use.

The Training panel asks for a spare (:meth:`prepare`) when it is shown with a dataset
open, and again after a run ends; its ``shutdown`` ends it. Set
``WORKBENCH_SPARE_TRAINER=0`` to start every training cold (the test suite does,
except the tests of this module).

Threads: :meth:`prepare` and :meth:`shutdown` run on the GUI thread, which starts the
process (on Linux a process asks for SIGKILL when the *thread* that started it ends,
and the GUI thread lives as long as the app); :meth:`claim` runs on a training worker's
thread. A lock guards the one slot.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import threading

from workbench.workers import children

log = logging.getLogger(__name__)

ENV_SWITCH = "WORKBENCH_SPARE_TRAINER"
# The job carries these from the app's environment at Start; any other difference from
# the spare's environment (TensorFlow's, CUDA's, read at import) makes the spare stale.
JOB_ENV_PREFIX = "WORKBENCH_"
# After a run ends the next spare starts this much later, not on the next pass of the
# event loop: the run's end makes the pool draw the charts and read the run's files, the
# Results panel show its evaluation and the runs list refresh, and the spare's fork and
# pipes (5-13 ms on the GUI thread) landed in the same late tick as that burst (the
# bench's slowest Start ticks, docs/BENCHMARKS.md section 14, sixth pass). A Start
# pressed sooner simply starts its process cold.
AFTER_RUN_MS = 250


def enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def _import_env(env: dict) -> dict:
    return {k: v for k, v in env.items() if not k.startswith(JOB_ENV_PREFIX)}


class SpareTrainer:
    """At most one spare training process (see module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._child: children.Child | None = None
        self._env: dict | None = None   # the environment it was started with
        self._said = b""                 # what the spare wrote before its job (loaded())

    def ready(self) -> bool:
        """True when a spare process runs (it may still be importing TensorFlow)."""
        with self._lock:
            return self._child is not None and self._child.proc.poll() is None

    def loaded(self) -> bool:
        """True once the spare has said ``ready`` (TensorFlow imported). Never blocks: it
        reads what the spare has written so far (``hello``, ``ready``: nothing else comes
        before its job). POSIX only (``select`` on a pipe); elsewhere always False."""
        import select

        with self._lock:
            child = self._child
            if child is None or child.proc.poll() is not None or sys.platform == "win32":
                return False
            fd = child.proc.stdout.fileno()
            while b'"ready"' not in self._said and select.select([fd], [], [], 0)[0]:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                self._said += chunk
            return b'"ready"' in self._said

    def prepare(self) -> None:
        """Start a spare process unless one runs or spares are switched off."""
        if not enabled() or self.ready():
            return
        env = children.child_env()
        try:
            # --background before its TensorFlow import, as the job's own process would be.
            child = children.spawn([sys.executable, "-m", "training", "train", "--events",
                                    "--wait-for-job", "--background"], "train-spare",
                                   long_lived=True, env=env)
        except OSError as exc:
            log.warning("No spare training process: %s", exc)
            return
        with self._lock:
            old, self._child, self._env, self._said = self._child, child, env, b""
        if old is not None:
            self._end(old)

    def claim(self, args: list[str]) -> children.Child | None:
        """The spare process, now training ``args``; None when there is none usable (the
        caller then starts a process itself)."""
        with self._lock:
            child, env = self._child, self._env
            self._child = self._env = None
        if child is None:
            return None
        now = children.child_env()
        if child.proc.poll() is not None or _import_env(now) != _import_env(env or {}):
            log.info("Spare training process %d not used (%s)", child.proc.pid,
                     "ended" if child.proc.poll() is not None else "environment changed")
            self._end(child)
            return None
        job = {"argv": list(args),
               "env": {**{k: None for k in env if k.startswith(JOB_ENV_PREFIX)},
                       **{k: v for k, v in now.items() if k.startswith(JOB_ENV_PREFIX)}}}
        try:
            child.proc.stdin.write((json.dumps(job) + "\n").encode("utf-8"))
            child.proc.stdin.flush()
        except (OSError, ValueError) as exc:
            log.info("Spare training process %d not used: %s", child.proc.pid, exc)
            self._end(child)
            return None
        child.long_lived = False
        return child

    def shutdown(self) -> None:
        with self._lock:
            child, self._child, self._env = self._child, None, None
        if child is not None:
            self._end(child)

    @staticmethod
    def _end(child: children.Child) -> None:
        children.kill(child)
        children.release(child, timeout=2.0)
