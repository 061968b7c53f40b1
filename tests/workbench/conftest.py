"""GUI test fixtures: fail any test that leaves a QThread running (napari's
``_dangling_qthreads`` idea)."""
import pytest


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
def _panel(qtbot, module: str, cls: str):
    import importlib

    from tests.workbench.panels import make_panel

    return make_panel(qtbot, getattr(importlib.import_module(module), cls))


@pytest.fixture
def results_panel(qtbot):
    panel = _panel(qtbot, "workbench.panels.results", "ResultsPanel")
    yield panel
    panel.shutdown()


@pytest.fixture
def training_panel(qtbot):
    panel = _panel(qtbot, "workbench.panels.training", "TrainingPanel")
    yield panel
    panel.shutdown()


@pytest.fixture
def model_panel(qtbot):
    panel = _panel(qtbot, "workbench.panels.model", "ModelPanel")
    yield panel
    panel.shutdown()
