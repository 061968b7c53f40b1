"""Quitting during training asks first, with "Don't ask again" (issue 11.8)."""
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tests.imagegen import make_class_folder
from tests.workbench.panels import make_window
from workbench.actions.quit_guard import QUESTION, SETTING


@pytest.fixture
def training_window(qtbot, tmp_path, monkeypatch):
    from training.recipe.config import TrainConfig
    from training.data import open_dataset

    w = make_window(qtbot, tmp_path, monkeypatch, own_runs=True)
    try:   # shut down whatever happens: closing a window that trains would ask, and wait
        root = make_class_folder(tmp_path / "data", per_class=8, size=8)
        w.state.set_dataset(None, open_dataset(str(root)))
        w.state.set_train_config(TrainConfig(epochs=300, batch_size=8, early_stopping=False))
        panel = w.panels["train"]
        panel.start_training()
        # The training process imports TensorFlow first: tens of seconds on a loaded machine.
        qtbot.waitUntil(lambda: panel.epochs_seen >= 1, timeout=180_000)
        yield w
    finally:
        w.shutdown()


def _answer(button_text, tick=False, seen=None):
    def click():
        box = QApplication.activeModalWidget()
        if box is None:
            QTimer.singleShot(50, click)
            return
        if seen is not None:
            seen.append(box.text())
        if tick:
            box.checkBox().setChecked(True)
        next(b for b in box.buttons() if b.text() == button_text).click()
    QTimer.singleShot(50, click)


def test_keep_training_then_stop_and_quit_without_asking_again(qtbot, training_window, tmp_path):
    w = training_window
    panel = w.panels["train"]
    seen = []
    _answer("Keep training", seen=seen)
    assert not w.close()
    assert seen == [QUESTION] and panel.is_training() and w.isVisible()

    pid = panel._worker.process_id()   # the run trains in a process of its own
    assert pid is not None
    _answer("Stop and quit", tick=True, seen=seen)
    assert w.close()
    assert len(seen) == 2 and not panel.pending_work()
    from training.runs.processes import _pid_alive

    assert not _pid_alive(pid)   # no orphan: the window waited for it (or killed it)
    assert str(w.settings.value(SETTING)) == "false"
    from training.runs.listing import list_runs

    assert [r["status"] for r in list_runs(tmp_path / "runs")] == ["stopped"]   # kept, resumable
