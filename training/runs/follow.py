"""What a run folder tells someone who did not start the run: live progress, and stop.

A run trained by another process (a terminal, a cluster job writing to shared storage)
can be followed and stopped from the GUI through two files in its run folder (their
names live in :mod:`training.runs.runfolder`):

- ``live.json``: the trainer's latest status line, recent status lines, progress and
  batch, rewritten atomically at most once a second (and at every epoch end), so a
  follower can show the progress bar and status as if the run were local. Epochs,
  charts and results come from ``history.json`` and ``run.json``, as for any run.
- ``stop.request``: written by whoever wants the run to stop (:func:`request_stop`).
  The trainer polls for it (:class:`RunFolderEvents.should_stop`, at most every
  ``STOP_POLL_S``), both in the Keras callback and in the distributed step loop, and
  stops after the current batch exactly as for a local Stop. A stale request is removed
  when a run starts or resumes.

No TensorFlow and no Qt here: cheap to import from the GUI.
"""
from __future__ import annotations

import logging
import os
import time
from collections import deque
from pathlib import Path

from training.runs import processes

from training.runs import checks, runfolder
from training.events import Events
from training.runs.runfolder import STOP_REQUEST

log = logging.getLogger(__name__)

LIVE_INTERVAL_S = 1.0   # at most one live.json write per second (batches come ~10/s)
STOP_POLL_S = 0.25      # one stat() of stop.request per quarter second at most
RECENT_MESSAGES = 30    # status lines kept in live.json for a follower's log


def request_stop(run_dir, who: str = "", pid: int | None = None) -> Path:
    """Ask the process training ``run_dir`` to stop (it may run on another machine).

    Args:
        pid: the trainer's process id when known (the app's own training process). A
            request addressed to a process survives that process's start-up, which
            otherwise removes a request it finds as stale: a Stop pressed while the
            process still loads TensorFlow is not lost.

    Returns the request file's path. Raises ``OSError`` when the folder is not writable.
    """
    path = runfolder.RunFolder(run_dir).stop_request
    request = {"requested": time.time(), "by": who or processes.process_info()}
    if pid is not None:
        request["pid"] = int(pid)
    runfolder.write_json(path, request)
    return path


def _request_is_for_me(run_dir) -> bool:
    try:
        request = runfolder.read_json(runfolder.RunFolder(run_dir).stop_request)
    except runfolder.RunError:
        return False
    return isinstance(request, dict) and request.get("pid") == os.getpid()


def stop_requested(run_dir) -> bool:
    return runfolder.RunFolder(run_dir).stop_request.exists()


def clear_stop_request(run_dir) -> None:
    try:
        os.remove(runfolder.RunFolder(run_dir).stop_request)
    except FileNotFoundError:
        pass


def read_live(run_dir) -> dict | None:
    """The trainer's ``live.json`` (None when absent or refused: it is informative only;
    :func:`read_live_checked` says why)."""
    return read_live_checked(run_dir)[0]


def read_live_checked(run_dir) -> tuple[dict | None, str | None]:
    """``(live.json checked field by field, None)``, ``(None, None)`` when there is none
    yet, or ``(None, why it was refused)``: too large, not JSON, a newer schema, a field of
    the wrong type (``training.runs.checks.check_live``). A followed folder may come from
    anywhere, so nothing in it reaches the window unchecked."""
    path = runfolder.RunFolder(run_dir).live_json
    try:
        return checks.check_live(runfolder.read_json(path), path), None
    except runfolder.RunError as exc:
        if not os.path.lexists(path):
            return None, None
        return None, str(exc)
    except checks.SchemaError as exc:
        return None, str(exc)


class RunFolderEvents(Events):
    """Forward every call to ``inner`` and mirror it into ``run_dir`` (see module docstring).

    Args:
        inner: the caller's events (CLI printer, GUI worker bridge); its stop flag counts too.
        run_dir: the run folder to write ``live.json`` into and to poll for ``stop.request``.
        stop_dir: where to poll for the stop request, when it differs from ``run_dir`` (a
            non-chief worker writes a private folder but obeys the shared run folder).
    """

    def __init__(self, inner: Events | None, run_dir, stop_dir=None):
        self.inner = inner or Events()
        self.run_dir = Path(run_dir)
        self.stop_dir = Path(stop_dir) if stop_dir else self.run_dir
        if self.stop_dir == self.run_dir and not _request_is_for_me(self.run_dir):
            clear_stop_request(self.run_dir)  # an old request must not stop this run at once
        self._messages: deque[str] = deque(maxlen=RECENT_MESSAGES)
        self._live: dict = {"schema_version": checks.LIVE_SCHEMA_VERSION, **processes.process_info(), "status": "",
                            "messages": [], "progress": None, "batch": None, "epoch": None}
        self._last_write = 0.0
        self._last_poll = 0.0
        self._file_stop = False

    # -- forwarded, and mirrored into live.json --------------------------------------
    def on_status(self, message: str) -> None:
        self.inner.on_status(message)
        self._messages.append(message)
        self._live["status"] = message
        self._write(force=True)
        # A status line starts a phase (a few per run): its first stop check reads the
        # request file whatever the last poll was. A phase with a single check (the
        # evaluation once the post-fit pass has its outputs) would otherwise miss a stop
        # made less than STOP_POLL_S after the previous check.
        self._last_poll = 0.0

    def on_progress(self, done: int, total: int, what: str) -> None:
        self.inner.on_progress(done, total, what)
        self._live["progress"] = {"done": int(done), "total": int(total), "what": what}
        self._write(force=done >= total)

    def on_batch(self, info: dict) -> None:
        self.inner.on_batch(info)
        self._live["batch"] = dict(info)
        self._live["progress"] = None  # batches drive the bar once training has started
        self._write()

    def on_epoch(self, info: dict) -> None:
        self.inner.on_epoch(info)
        self._live["epoch"] = dict(info)
        self._write(force=True)

    # -- stop: the caller's flag or the request file -----------------------------------
    def should_stop(self) -> bool:
        if self.inner.should_stop():
            return True
        now = time.monotonic()
        if not self._file_stop and now - self._last_poll >= STOP_POLL_S:
            self._last_poll = now
            if stop_requested(self.stop_dir):
                self._file_stop = True
                log.info("Stop requested through %s", runfolder.RunFolder(self.stop_dir).stop_request)
                self.inner.on_status("Stop requested from outside this process "
                                     f"({STOP_REQUEST} in the run folder); stopping after "
                                     "the current batch.")
        return self._file_stop

    def stop(self) -> None:
        """The CLI's Ctrl-C handler calls this; pass it on to the caller's events."""
        stop = getattr(self.inner, "stop", None)
        if callable(stop):
            stop()

    def __getattr__(self, name):
        if name == "inner":
            raise AttributeError(name)
        # Anything else the caller's events offer (finish_line, counters…) stays reachable.
        return getattr(self.inner, name)

    def _write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_write < LIVE_INTERVAL_S:
            return
        self._last_write = now
        self._live.update(updated=time.time(), messages=list(self._messages))
        try:
            runfolder.write_json(runfolder.RunFolder(self.run_dir).live_json, self._live)
        except (OSError, ValueError, TypeError) as exc:  # progress is informative: never fail a run
            log.debug("Could not write %s: %s", runfolder.RunFolder(self.run_dir).live_json, exc)
