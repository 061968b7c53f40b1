"""GUI test fixtures: fail any test that leaves a QThread running (napari's
``_dangling_qthreads`` idea)."""
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
