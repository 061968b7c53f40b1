"""GUI test fixtures: fail any test that leaves a QThread running (napari's
``_dangling_qthreads`` idea)."""
import pytest


@pytest.fixture(autouse=True)
def _no_dangling_qthreads(qapp):
    from PySide6.QtCore import QThread

    before = set(id(t) for t in _live_qthreads(qapp))
    yield
    leftover = [t for t in _live_qthreads(qapp) if id(t) not in before and t.isRunning()]
    for t in leftover:
        # Give a finishing thread a moment; a real leak stays running.
        t.wait(3000)
    still = [t for t in leftover if t.isRunning()]
    assert not still, f"test left {len(still)} QThread(s) running: {still}"


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
