"""GUI test fixtures: one real compute service for the whole session, and fail any test
that leaves a QThread or a child process running (napari's ``_dangling_qthreads`` idea)."""
import os
import signal
import sys

import pytest
from pytestqt.exceptions import TimeoutError

from tests.workbench.panels import panel_fixture


@pytest.fixture(scope="session", autouse=True)
def gui_collector(qapp):
    """Garbage collection on the GUI thread only, as in the app (workbench/collector.py);
    at the end, no collection may have run on another thread."""
    from workbench import collector

    gc_ = collector.install(qapp)
    yield gc_
    assert gc_.off_thread == 0, f"{gc_.off_thread} garbage collection(s) ran off the GUI thread"


@pytest.fixture(scope="session", autouse=True)
def compute_service(qapp, gui_collector):
    """The app's compute client for every GUI test: one real ``python -m training.service``
    child, started now (it imports TensorFlow while the first tests run) and stopped at the
    end of the session. A test that kills it gets a new one from the client."""
    from workbench import compute
    from workbench.compute.client import ComputeClient, service_command

    client = ComputeClient(service_command() + ["--handlers", "tests.workbench.service_handlers"],
                           parent=qapp)
    old = compute.set_client(client)
    client.start()
    yield client
    assert client.shutdown(10_000), "the compute service did not stop when asked"
    compute.set_client(old)


@pytest.fixture(autouse=True)
def _no_dangling_qthreads(qapp):
    before = set(id(t) for t in _live_qthreads(qapp))
    yield
    leftover = [t for t in _live_qthreads(qapp) if id(t) not in before and t.isRunning()]
    for t in leftover:
        # Give a finishing thread a moment; a real leak stays running.
        t.wait(3000)
    still = [t for t in leftover if t.isRunning()]
    assert not still, f"test left {len(still)} QThread(s) running: {still}"


@pytest.fixture(autouse=True)
def _no_dangling_child_processes(compute_service, qtbot):
    """Fail a test that leaves a child process of this one running, other than the
    session's compute service and children the app registered as long-lived (a spare
    training process): a training process, a second service, a CLI run. The app promises
    no orphans within 5 s; leftovers are then killed so the next tests start clean."""
    yield
    if not _unexpected(compute_service):
        return
    try:   # a child that was just told to stop gets a moment to go
        qtbot.waitUntil(lambda: not _unexpected(compute_service), timeout=5000)
    except TimeoutError:
        still = _unexpected(compute_service)
        report = "; ".join(f"{p}: {_cmdline(p)}" for p in sorted(still))
        for pid in still:
            _kill(pid)
        pytest.fail(f"test left {len(still)} child process(es) running: {report}")


@pytest.fixture(autouse=True)
def _no_window_left_training(qtbot):
    """Set up after ``qtbot``, so this runs before pytest-qt closes the test's widgets: a
    main window still training would ask "Stop and quit?" in a modal box nobody answers,
    and the suite would hang. Such a window is shut down here and the test fails."""
    yield
    main = sys.modules.get("workbench.mainwindow")
    if main is None:
        return
    from PySide6.QtWidgets import QApplication

    from workbench.actions.quit_guard import training_running

    left = [w for w in QApplication.topLevelWidgets()
            if isinstance(w, main.MainWindow) and not w._shut_down and training_running(w)]
    for w in left:
        w.shutdown()
    assert not left, "test left a window training (closing it would ask, and wait)"


def child_processes() -> set[int]:
    """Live child processes of this process (Linux: /proc), zombies excluded."""
    pids: set[int] = set()
    try:
        tasks = os.listdir(f"/proc/{os.getpid()}/task")
    except OSError:
        return pids
    for tid in tasks:
        try:
            with open(f"/proc/{os.getpid()}/task/{tid}/children") as f:
                pids.update(int(p) for p in f.read().split())
        except OSError:
            continue
    return {p for p in pids if _state(p) not in ("Z", "X", None)}


def _unexpected(compute_service) -> set[int]:
    from workbench.workers.children import running

    allowed = {compute_service.pid()} | {c.proc.pid for c in running() if c.long_lived}
    return child_processes() - allowed


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:200]
    except OSError:
        return "?"


def _state(pid: int):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _live_qthreads(app):
    from PySide6.QtCore import QThread

    found = []
    stack = [app]
    while stack:
        obj = stack.pop()
        if isinstance(obj, QThread):
            found.append(obj)
        stack.extend(obj.children())
    # Threads without a parent are tracked by workbench.workers.registry.
    try:
        from workbench.workers.registry import live_threads
        found.extend(live_threads())
    except ImportError:
        pass
    return found


# Panel fixtures shared by several test modules. Panels are shut down in fixture
# teardown, after pytest-qt has closed the widgets.
results_panel = panel_fixture("results_panel", "workbench.panels.results.ResultsPanel")
training_panel = panel_fixture("training_panel", "workbench.panels.training.TrainingPanel")
model_panel = panel_fixture("model_panel", "workbench.panels.model.ModelPanel")
