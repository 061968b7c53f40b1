"""Restarting keeps the context (issue 11.5): the last dataset reopens in the background
(cancellable) with its split, the training settings are remembered, and stopped or
interrupted runs are listed under File → Recent runs with Resume."""
import json
import shutil

import pytest

from tests.imagegen import make_class_folder
from tests.workbench.panels import make_window
from workbench.appstate.session_restore import reopen_last_dataset


@pytest.fixture
def settings_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_SETTINGS_DIR", str(tmp_path / "settings"))
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "settings"


def _window(qtbot):
    return make_window(qtbot)


def test_last_dataset_and_training_settings_come_back(qtbot, settings_dir, tmp_path):
    from training.recipe.config import TrainConfig
    from training.data import DatasetSpec

    data = make_class_folder(tmp_path / "data", classes=("a", "b"), per_class=6, size=8)
    w1 = _window(qtbot)
    with qtbot.waitSignal(w1.state.datasetChanged, timeout=20000):
        w1.panels["data"].open_spec(DatasetSpec(str(data), seed=7, val_fraction=0.25))
    qtbot.waitUntil(lambda: not w1.panels["data"].pending_work(), timeout=20000)
    w1.state.set_train_config(TrainConfig(epochs=7, batch_size=16, learning_rate=0.01,
                                          early_stopping=False))
    w1.close()

    w2 = _window(qtbot)
    try:
        assert w2.state.dataset is None
        cfg = w2.state.train_config
        assert (cfg.epochs, cfg.batch_size, cfg.learning_rate, cfg.early_stopping) == (7, 16, 0.01, False)
        with qtbot.waitSignal(w2.state.datasetChanged, timeout=20000):
            assert reopen_last_dataset(w2)
        assert w2.state.dataset_spec.seed == 7 and w2.state.dataset_spec.val_fraction == 0.25
        assert len(w2.state.dataset) == 12
        qtbot.waitUntil(lambda: not w2.panels["data"].pending_work(), timeout=20000)
    finally:
        w2.close()

    w3 = _window(qtbot)   # reopening can be cancelled: nothing opens, no error
    try:
        assert reopen_last_dataset(w3)
        w3.panels["data"].cancel()
        qtbot.waitUntil(lambda: not w3.panels["data"].pending_work(), timeout=20000)
        qtbot.wait(100)
        assert w3.state.dataset is None and not w3.panels["data"].error_label.isVisible()
    finally:
        w3.close()


def test_unfinished_runs_are_listed_with_resume(qtbot, settings_dir, tmp_path):
    from tests.workbench.tiny_run import tiny_run

    runs = tmp_path / "runs"
    runs.mkdir()
    for name, status in (("stopped-run", "stopped"), ("killed-run", "interrupted"),
                         ("done-run", "complete")):
        shutil.copytree(tiny_run()["run_dir"], runs / name)
        info = json.loads((runs / name / "run.json").read_text())
        info.update(status=status, name=name)
        (runs / name / "run.json").write_text(json.dumps(info))
    w = _window(qtbot)
    try:
        qtbot.waitUntil(lambda: len(w.resumable.runs) == 2, timeout=30000)
        w._fill_recent_runs()
        menus = {a.text(): a.menu() for a in w.recent_runs_menu.actions() if a.menu()}
        names = sorted(t.split(" (")[0] for t in menus)
        assert names == ["killed-run", "stopped-run"]
        killed = next(m for t, m in menus.items() if t.startswith("killed-run"))
        assert "interrupted" in next(t for t in menus if t.startswith("killed-run"))
        resume = next(a for a in killed.actions() if a.text() == "Resume training")
        resume.trigger()
        assert w.current_panel_key() == "train" and w.state.run_dir.endswith("killed-run")
        qtbot.waitUntil(lambda: not w.panels["train"].pending_work(), timeout=180_000)
    finally:
        w.shutdown()   # first: closing a window that still trains would ask, and wait
        w.close()
