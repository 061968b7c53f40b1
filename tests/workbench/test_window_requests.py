"""What panels ask of the window, and the window of the Dataset panel, goes through the app
state's signals (no probing with hasattr, no reaching into another panel): the Training
panel's "See the report" link, File → open a dataset, saving the panels' settings, a
panel's request to start training, and the folder-move actions' status messages."""
from __future__ import annotations

import pytest

from tests.imagegen import make_class_folder
from tests.workbench.panels import make_window, wait_idle


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    w = make_window(qtbot, tmp_path, monkeypatch, own_runs=True, size=(1280, 800))
    yield w
    w.shutdown()


def test_requests_reach_the_dataset_panel_through_the_state(qtbot, window, tmp_path):
    from workbench.panels.training_bad_files import LINK

    from workbench.actions.folder_moves_menu import apply_to_folders

    assert not apply_to_folders(window, window.state)   # says why in the status bar
    assert window.statusBar().currentMessage() == "Open a dataset first."
    root = make_class_folder(tmp_path / "data", classes=("a", "b"), per_class=4, size=8)
    with qtbot.waitSignal(window.state.datasetChanged, timeout=20000):
        window.open_dataset(str(root))          # File → Open recent, the command line
    data = window.panels["data"]
    wait_idle(qtbot, data)
    assert window.state.dataset.root == str(root)
    window.show_panel("train")
    window.panels["train"].bad_files_label.linkActivated.emit(LINK)
    assert window.current_panel_key() == "data" and data.tabs.currentWidget() is data.bad_view

    data.splitter.setSizes([300, 600, 300])
    window.save_settings()                      # the Dataset panel saves its own UI state
    assert data.settings.bytes_value("dataset/splitter") == data.splitter.saveState()


def test_a_training_request_is_answered_by_the_window_or_by_no_one(qtbot, window):
    from workbench.appstate.state import AppState

    assert window.state.request_training() is False   # no dataset open: nothing started
    lone = AppState()
    assert lone.request_training() is None            # no window listens
    lone.deleteLater()
