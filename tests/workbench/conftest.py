"""GUI test fixtures: fail any test that leaves a QThread (napari's
``_dangling_qthreads`` idea) or a child process running."""
import os
import sys
import time

import pytest

from tests.workbench.panels import panel_fixture


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
def _no_child_processes_left():
    """A test that leaves a child process of this one running fails (a training process,
    a service, anything a panel started), after 5 s of grace: the app promises no
    orphans within 5 s. The leftovers are killed so the next tests start clean.
    Children the app registered as long-lived (a session-wide service) are allowed."""
    if not sys.platform.startswith("linux"):
        yield
        return
    before = set(children_of(os.getpid()))
    yield
    deadline = time.monotonic() + 5.0
    while True:
        left = _unexpected(set(children_of(os.getpid())) - before)
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for pid in left:
        _kill(pid)
    assert not left, "test left child process(es) running: " + "; ".join(
        f"{pid}: {_cmdline(pid)}" for pid in sorted(left))


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


def children_of(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(name))
    return found


def _unexpected(pids: set) -> set:
    try:
        from workbench.workers.children import running
    except ImportError:
        return pids
    allowed = {c.proc.pid for c in running() if c.long_lived}
    return {p for p in pids if p not in allowed}


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")[:200]
    except OSError:
        return "?"


def _kill(pid: int) -> None:
    import signal

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
