"""One shortcut map (workbench/actions/shortcuts.py): no key claimed twice, Esc stops training
from any panel, F1 shows the shortcuts, Help has About and Open log folder (issue 11.4)."""
import importlib.metadata
import platform

import pytest
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QMessageBox

from tests.imagegen import make_class_folder
from workbench.actions import shortcuts
from workbench.actions.helpmenu import ShortcutsDialog
from tests.workbench.panels import make_window


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    w = make_window(qtbot, tmp_path, monkeypatch, own_runs=True)
    qtbot.waitUntil(lambda: len(w.panels) == 5, timeout=30000)
    yield w
    w.close()


def _press(qtbot, w, key, modifier=Qt.KeyboardModifier.NoModifier):
    """A real key press, through Qt's shortcut map (the window must be active for that)."""
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=20000)
    QTest.keyClick(w.focusWidget() or w, key, modifier)


def test_no_two_commands_share_keys(window):
    names = [s.name for s in shortcuts.SHORTCUTS]
    assert len(names) == len(set(names))
    seen = {}
    widgets = [a for a in window.findChildren(QAction)] + window.findChildren(QAbstractButton)
    for obj in widgets:
        seq = obj.shortcut().toString()
        if seq:
            seen.setdefault(seq, []).append(obj.text())
    clashes = {k: v for k, v in seen.items() if len(v) > 1}
    assert not clashes, clashes
    assert shortcuts.text("open_dataset") in seen and shortcuts.text("open_photos") in seen


def test_f1_shows_every_shortcut(qtbot, window):
    _press(qtbot, window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: window.findChild(ShortcutsDialog) is not None
                    and window.findChild(ShortcutsDialog).isVisible(), timeout=20000)
    table = window.findChild(ShortcutsDialog).table
    assert table.rowCount() == len(shortcuts.SHORTCUTS)
    keys = {table.item(r, 0).text() for r in range(table.rowCount())}
    assert {"F1", "Esc", "Ctrl+O", "F5"} <= keys
    window.findChild(ShortcutsDialog).close()


def test_open_photos_key_works_on_classify(qtbot, window, monkeypatch, tmp_path):
    import shutil

    from workbench.panels import classify

    asked = []
    monkeypatch.setattr(classify.QFileDialog, "getOpenFileNames",
                        staticmethod(lambda *a, **k: asked.append(a) or ([], "")))
    from tests.workbench.tiny_run import tiny_run

    # The shared run may have been trained under another test's runs folder: copy it into
    # this window's runs folder, which the Classify panel lists.
    run = shutil.copytree(tiny_run()["run_dir"], tmp_path / "runs" / "tiny")
    window.state.set_run(str(run))
    window.show_panel("classify")
    qtbot.waitUntil(window.panels["classify"].open_button.isEnabled, timeout=30000)
    _press(qtbot, window, Qt.Key.Key_O,
           Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: bool(asked), timeout=20000)


def test_esc_stops_training_from_another_panel(qtbot, window, tmp_path):
    from training.recipe.config import TrainConfig
    from training.data import open_dataset

    root = make_class_folder(tmp_path / "data", per_class=8, size=8)
    window.state.set_dataset(None, open_dataset(str(root)))
    window.state.set_train_config(TrainConfig(epochs=300, batch_size=8, early_stopping=False))
    panel = window.panels["train"]
    _press(qtbot, window, Qt.Key.Key_F5)
    assert panel.is_training()
    qtbot.waitUntil(lambda: panel.epochs_seen >= 1, timeout=180_000)
    window.show_panel("data")
    _press(qtbot, window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not panel.pending_work(), timeout=180_000)
    assert panel.epochs_seen < 300 and "stop" in panel.status_label.text().lower()


def test_about_lists_versions_without_importing_tensorflow(qtbot, window):
    window.help_actions["about"].trigger()
    text = window.findChild(QMessageBox, "aboutBox").text()
    for package in ("tensorflow", "keras"):
        assert importlib.metadata.version(package) in text
    assert qVersion() in text and platform.python_version() in text and "Device" in text
    window.findChild(QMessageBox, "aboutBox").close()


def test_open_log_folder(qtbot, window, monkeypatch, tmp_path):
    from training.logs import log_dir
    from workbench.actions import helpmenu

    opened = []
    monkeypatch.setattr(helpmenu.QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url.toLocalFile()) or True))
    window.help_actions["logs"].trigger()
    assert opened == [str(log_dir())] and log_dir().is_dir()
