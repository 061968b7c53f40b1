"""File dialogs start in the user's folders, never in the current directory (the app runs
from its source checkout: a CSV export landed in the repository), and each remembers the
last folder chosen in it (issue 22 item 11). The static QFileDialog functions are replaced
only because they would wait for a person; what they are asked to show is the test."""
from __future__ import annotations

import os

import pytest
from PySide6.QtWidgets import QFileDialog

from tests.workbench.panels import make_panel
from tests.workbench.tiny_run import tiny_run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    for name in ("Pictures", "Documents", "Downloads"):
        (home / name).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("WORKBENCH_SETTINGS_DIR", str(tmp_path / "settings"))
    monkeypatch.chdir(ROOT)   # as scripts/run.sh starts the app
    return home


class _Dialogs:
    """Records the folder each dialog was asked to start in and answers ``answer``."""

    def __init__(self, monkeypatch):
        self.asked: list[str] = []
        self.answer = ""

        def folder(*args, **kwargs):
            self.asked.append(args[2] if len(args) > 2 else kwargs.get("dir", ""))
            return self.answer

        def file(*args, **kwargs):
            return folder(*args, **kwargs), ""

        def files(*args, **kwargs):
            return ([self.answer] if self.answer else []), folder(*args, **kwargs) and ""

        monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(folder))
        monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(file))
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(file))
        monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(files))

    def last(self) -> str:
        return os.path.abspath(self.asked[-1])


def _not_in_checkout(path: str) -> bool:
    return not os.path.abspath(path).startswith(ROOT + os.sep) and os.path.abspath(path) != ROOT


def test_classify_dialogs_start_in_the_users_folders_and_remember(qtbot, home, monkeypatch, tmp_path):
    from tests.imagegen import class_image, write_image
    from workbench.panels.classify import ClassifyPanel

    dialogs = _Dialogs(monkeypatch)
    panel = make_panel(qtbot, ClassifyPanel, run_dir=tiny_run()["run_dir"])
    try:
        qtbot.waitUntil(lambda: not panel.pending_work(), timeout=60_000)
        panel.open_photos()                      # cancelled (no answer)
        assert dialogs.last() == str(home / "Pictures")
        photo = write_image(tmp_path / "shots" / "a.png", class_image(0, 16))
        dialogs.answer = str(photo)
        panel.open_photos()
        qtbot.waitUntil(lambda: not panel.pending_work(), timeout=60_000)
        dialogs.answer = ""
        panel.open_folder()
        assert dialogs.last() == str(tmp_path / "shots")   # remembered
        panel.export_csv()
        assert dialogs.last() == str(home / "Documents" / "predictions.csv")
        assert all(_not_in_checkout(p) for p in dialogs.asked), dialogs.asked
        out = tmp_path / "reports" / "p.csv"
        out.parent.mkdir()
        dialogs.answer = str(out)
        panel.export_csv()
        assert out.is_file()
        dialogs.answer = ""
        panel.export_csv()
        assert dialogs.last() == str(tmp_path / "reports" / "predictions.csv")
        panel.choose_model_file()
        assert dialogs.last() == str(home / "Documents")
    finally:
        panel.shutdown()


def test_dataset_and_model_dialogs_start_in_the_users_folders(qtbot, home, monkeypatch, tmp_path):
    from tests.imagegen import make_class_folder
    from workbench.panels.dataset import DatasetPanel
    from workbench.panels.model import ModelPanel

    dialogs = _Dialogs(monkeypatch)
    data = make_panel(qtbot, DatasetPanel)
    model = make_panel(qtbot, ModelPanel)
    try:
        data.open_dialog("folder")
        assert dialogs.last() == str(home / "Pictures")
        root = make_class_folder(tmp_path / "sets" / "pets", per_class=3, size=8)
        dialogs.answer = str(root)
        with qtbot.waitSignal(data.state.datasetChanged, timeout=30_000):
            data.open_dialog("folder")
        dialogs.answer = ""
        data.open_dialog("csv")
        assert dialogs.last() == str(tmp_path / "sets")   # remembered: the folder around it
        model._load_dialog()
        assert dialogs.last() == str(home / "Documents")
        assert all(_not_in_checkout(p) for p in dialogs.asked), dialogs.asked
        qtbot.waitUntil(lambda: not data.pending_work() and not model.pending_work(), timeout=60_000)
    finally:
        data.shutdown()
        model.shutdown()
