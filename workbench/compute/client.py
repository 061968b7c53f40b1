"""The app's side of the compute service: one child process, owned through a ``QProcess``.

``QProcess`` delivers the child's output and its end as signals on the GUI thread, so
talking to the service needs no Python thread: :class:`ComputeClient` writes request
frames, decodes the answers as they arrive (``training.service.protocol``) and hands
each to the :class:`~workbench.compute.jobs.ServiceJob` that asked, on the GUI thread.

The service is started on the first request. If it dies (a crash, ``kill -9``, the
kernel's out-of-memory killer), every request in flight fails with a message that says
so, the exit status and the last lines of the service's log go to the app's log
("Details…" shows them), :attr:`ComputeClient.serviceDied` tells the window, and a new
service is started. The window never waits for the service.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QIODevice, QObject, QProcess, QProcessEnvironment, Signal, Slot

from training.logs import PROCESS_DETAILS, log_dir, tail_lines
from training.service import protocol as P

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]   # the checkout: where `training` is importable
SERVICE_LOG = "service.log"
LOG_TAIL_LINES = 40
MAX_LOG_BYTES = 2 * 1024 * 1024
# A service that dies before its hello is not restarted at once (it would die again:
# a broken install); the next request tries again.
STOPPED_MESSAGE = "The compute service stopped unexpectedly ({status}) while working on this. " \
                  "A new one has been started: try again."


def service_command() -> list[str]:
    """``python -m training.service --background`` with this interpreter.

    In the background (below the window's CPU priority, as trainings are): a Label next
    round trains and ranks on both cores for 10-70 s, often while a key is held down in
    the labelling view, and at the window's priority the GUI thread waited behind it for a
    core: single presses took up to 200-370 ms, as a background job up to 80-90 ms
    (docs/BENCHMARKS.md, "Labelling"). It still gets every cycle the window does not use."""
    return [sys.executable, "-m", "training.service", "--background"]


def describe_exit(code: int, crashed: bool) -> str:
    """``"killed by signal 9, SIGKILL"`` or ``"exit status 1"``."""
    if crashed:
        try:
            name = signal.Signals(code).name
        except ValueError:
            name = "unknown signal"
        return f"killed by signal {code}, {name}"
    return f"exit status {code}"


class ComputeClient(QObject):
    """Owns the compute service and routes its answers (GUI thread only).

    Args:
        command: the service's command line (tests start an old or noisy service).

    Signals:
        serviceDied(str): the service ended unexpectedly; the message for a status bar.
        ready(dict): a service said hello (its ``pid`` and ``methods``).
    """

    serviceDied = Signal(str)
    ready = Signal(dict)

    def __init__(self, command: list[str] | None = None, parent=None) -> None:
        super().__init__(parent)
        self.command = list(command or service_command())
        self.proc: QProcess | None = None
        self.hello: dict | None = None
        self.version_error: str | None = None
        self.deaths = 0
        self.last_death: dict | None = None   # {"message", "details", "pid"}
        self._decoder = P.Decoder()
        self._outbox: list[bytes] = []   # frames waiting for the hello
        self._live: dict = {}            # request id -> ServiceJob
        self._next_id = 0
        self._closing = False
        self._kill_reason: str | None = None   # why this client killed its service, if it did
        self.log_path: Path | None = None   # the running (or last) service's log file

    # -- requests ------------------------------------------------------------------------------
    def request(self, job, method: str, params: dict, flush_labels: bool = True) -> int:
        """Send ``method(**params)`` for ``job`` (its ``on_*`` methods get the answers).
        ``flush_labels``: first wait until every label given is on disk (the service may
        read the label overlay); False for a request that carries its labels."""
        if self.version_error:
            raise ServiceUnavailable(self.version_error)
        if flush_labels:
            from workbench.workers.overlay_writer import flush

            flush()
        self._next_id += 1
        rid = self._next_id
        self._live[rid] = job
        self._send({"type": P.REQUEST, "id": rid, "method": method, "params": params})
        return rid

    def cancel(self, rid: int) -> None:
        """Ask the service to stop request ``rid`` (it still ends with ``stopped`` or its result)."""
        if rid in self._live and self.running():
            self._send({"type": P.CANCEL, "id": rid})

    def forget(self, rid: int) -> None:
        """Drop ``rid``'s answers (a job released without waiting for its end)."""
        self.cancel(rid)
        self._live.pop(rid, None)

    def running(self) -> bool:
        return self.proc is not None and self.proc.state() != QProcess.ProcessState.NotRunning

    def pid(self) -> int | None:
        return int(self.proc.processId()) if self.running() else None

    def in_flight(self) -> int:
        return len(self._live)

    def start(self) -> None:
        """Start the service now (else the first request does)."""
        if self.running() or self._closing:
            return
        self.hello, self.version_error, self._kill_reason = None, None, None
        self._decoder = P.Decoder()
        proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), env.value("PYTHONPATH")) if p))
        env.insert("PYTHONUNBUFFERED", "1")
        proc.setProcessEnvironment(env)
        proc.setWorkingDirectory(str(ROOT))
        self.log_path = self._log_path(rotate=True)
        proc.setStandardErrorFile(str(self.log_path), QIODevice.OpenModeFlag.Append)
        proc.readyReadStandardOutput.connect(self._on_output)
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        self.proc = proc
        log.info("Starting the compute service: %s", " ".join(self.command))
        proc.start(self.command[0], self.command[1:])

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Close the service's input (it ends its requests and exits), wait, then kill.

        Returns True when it ended by itself within ``timeout_ms``."""
        self._closing = True
        proc, ok = self.proc, True
        if proc is not None and proc.state() != QProcess.ProcessState.NotRunning:
            proc.closeWriteChannel()
            ok = proc.waitForFinished(timeout_ms)
            if not ok:
                log.warning("The compute service did not stop within %d ms: killing it", timeout_ms)
                proc.kill()
                proc.waitForFinished(2000)
        self._fail_all("The compute service was stopped.", details=None)
        return ok

    def restart(self) -> None:
        """Start a fresh service (after :meth:`shutdown`, or to drop warm models)."""
        self._closing = False
        self.start()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last ``lines`` of the service's log (its stderr)."""
        return "\n".join(tail_lines(self.log_path or self._log_path(), 64 * 1024)[-lines:])

    # -- internals -----------------------------------------------------------------------------
    def _log_path(self, rotate: bool = False) -> Path:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / SERVICE_LOG
        if rotate:
            try:
                if path.stat().st_size > MAX_LOG_BYTES:
                    os.replace(path, path.with_name(SERVICE_LOG + ".1"))
            except OSError:
                pass
        return path

    def _send(self, message: dict) -> None:
        frame = P.encode(message)
        if not self.running():
            self.start()
        if self.hello is None:
            self._outbox.append(frame)   # sent once the service said which version it speaks
        else:
            self.proc.write(frame)

    @Slot()
    def _on_output(self) -> None:
        proc = self.sender() if isinstance(self.sender(), QProcess) else self.proc
        if proc is not self.proc:
            return   # a dead service's last bytes
        data = bytes(proc.readAllStandardOutput())
        try:
            messages = self._decoder.feed(data)
        except P.ProtocolError as exc:
            log.error("The compute service sent an unreadable frame (%s): restarting it", exc)
            # Nothing after it can be framed again; the death says why, not just "SIGKILL".
            self._kill_reason = f"the app stopped it: it sent a message the app can't read. {exc}"
            proc.kill()
            return
        for message in messages:
            self._dispatch(message)

    def _dispatch(self, message: dict) -> None:
        kind = message.get("type")
        if kind == P.HELLO:
            self._on_hello(message)
            return
        rid = message.get("id")
        job = self._live.get(rid)
        if job is None:
            if kind == P.ERROR and rid is None:
                log.error("The compute service refused this app: %s", message.get("message"))
            return   # an answer to a request nobody waits for any more
        if kind in P.FINAL_TYPES:
            del self._live[rid]
        if kind == P.STATUS:
            job.on_status(str(message.get("message", "")))
        elif kind == P.PROGRESS:
            job.on_progress(int(message["done"]), int(message["total"]), str(message.get("what", "")))
        elif kind == P.PARTIAL:
            job.on_partial(message.get("data"))
        elif kind == P.RESULT:
            job.on_result(message.get("data"))
        elif kind == P.ERROR:
            self._log_failure(job, message)
            job.on_error(message.get("kind", P.INTERNAL), str(message.get("message", "")))
        elif kind == P.STOPPED:
            job.on_stopped()

    def _on_hello(self, message: dict) -> None:
        mismatch = P.version_mismatch(message.get("protocol"))
        if mismatch:
            self.version_error = mismatch
            log.error("%s (service pid %s)", mismatch, message.get("pid"))
            self._outbox.clear()
            self._fail_all(mismatch, details=None)
            self.proc.closeWriteChannel()
            return
        self.hello = message
        self.proc.write(P.encode({"type": P.HELLO, "protocol": P.PROTOCOL_VERSION}))
        for frame in self._outbox:
            self.proc.write(frame)
        self._outbox.clear()
        log.info("Compute service %s ready", message.get("pid"))
        self.ready.emit(dict(message))

    def _log_failure(self, job, message: dict) -> None:
        details = message.get("details") or ""
        method = getattr(job, "method", "?")
        if message.get("kind") == P.INTERNAL:
            log.error("The compute service's %s request failed: %s\n%s", method, message.get("message"), details)
        else:
            log.warning("The compute service's %s request: %s\n%s", method, message.get("message"), details)

    @Slot(int, QProcess.ExitStatus)
    def _on_finished(self, code: int, status) -> None:
        proc = self.sender() if isinstance(self.sender(), QProcess) else self.proc
        if proc is not self.proc:
            return
        crashed = status == QProcess.ExitStatus.CrashExit
        pid = self.hello.get("pid") if self.hello else None
        had_hello = self.hello is not None
        self.proc, self.hello = None, None
        proc.deleteLater()
        if self._closing or (not crashed and code == 0 and not self._live):
            log.info("The compute service ended (%s)", describe_exit(code, crashed))
            return
        if self.version_error:
            return   # said already, and a new service would speak the same version
        self._report_death(self._kill_reason or describe_exit(code, crashed), pid)
        if had_hello:
            self.start()   # warm up a fresh one for the next request

    @Slot(QProcess.ProcessError)
    def _on_error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            proc, self.proc = self.proc, None
            self._report_death(f"it could not be started: {proc.errorString() if proc else error}", None)

    def _report_death(self, status: str, pid) -> None:
        self.deaths += 1
        # Indented: the log's own lines start with a time stamp, which would end the record
        # for training.logs.last_traceback.
        tail = "\n".join("    " + line for line in self.log_tail().splitlines())
        message = STOPPED_MESSAGE.format(status=status)
        details = (f"{PROCESS_DETAILS} the compute service (pid {pid}) ended: {status}.\n"
                   f"Command: {' '.join(self.command)}\n"
                   f"The last lines of its log ({self.log_path}):\n{tail}")
        log.error("%s", details)
        self.last_death = {"message": message, "details": details, "pid": pid}
        self._outbox.clear()
        self._fail_all(message, details)
        self.serviceDied.emit(message)

    def _fail_all(self, message: str, details) -> None:
        live, self._live = self._live, {}
        for job in live.values():
            job.on_error(P.INTERNAL, message)


class ServiceUnavailable(RuntimeError):
    """The service can't take requests (it speaks another protocol version)."""
