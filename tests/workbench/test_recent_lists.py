"""The recent lists: a run's end changes them without a settings-file sync on the GUI
thread (the 17 ms stall of BENCHMARKS section 14), and they survive a restart."""
import json
import os
import subprocess
import sys
import threading

import pytest

from workbench.mainwindow import MainWindow

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Which thread renamed which file into place (an audit hook can't be removed: it only
# records while a test has set ``_renames`` to a list).
_renames: list | None = None


def _audit(event, args):
    if event == "os.rename" and _renames is not None:
        _renames.append((os.fspath(args[1]), threading.get_ident()))


sys.addaudithook(_audit)


@pytest.fixture
def settings_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_SETTINGS_DIR", str(tmp_path / "settings"))
    return tmp_path / "settings"


def _stamp(path):
    st = os.stat(path)
    return st.st_mtime_ns, st.st_ino, path.read_bytes()


def test_a_runs_end_leaves_the_settings_file_alone(qtbot, settings_dir, tmp_path):
    global _renames
    run = tmp_path / "runs" / "run-1"
    run.mkdir(parents=True)
    w = MainWindow(probe_device=False)
    qtbot.addWidget(w)
    try:
        w.settings.set_value("test/marker", "1")
        w.settings.sync()
        ini = settings_dir / "workbench.ini"
        before = _stamp(ini)
        _renames = []
        w.state.set_run(str(run))          # what the Training panel does at a run's end
        qtbot.wait(300)                    # QSettings syncs at the next pass of the event loop
        assert _stamp(ini) == before, "the settings file was rewritten on the GUI thread"
        recent = settings_dir / "workbench.recent.json"
        qtbot.waitUntil(lambda: recent.exists(), timeout=5000)
        writers = {tid for dst, tid in _renames if dst == str(recent)}
        assert writers and threading.get_ident() not in writers
        assert json.loads(recent.read_text())["runs"][0] == str(run)
        assert w.settings.recent_runs()[0] == str(run)
    finally:
        _renames = None
        w.close()
        w.shutdown()


def test_recent_runs_survive_a_restart(qtbot, settings_dir, tmp_path):
    from workbench.appstate.settings import Settings

    runs = [tmp_path / f"run-{i}" for i in range(3)]
    s = Settings()
    for r in runs:
        r.mkdir()
        s.add_recent_run(str(r))
    s.add_recent_dataset(str(tmp_path))
    s.sync()   # what the window does when it closes: the pool may not have written yet
    # A new process (a restart) reads them back.
    code = ("import json; from workbench.appstate.settings import Settings; s = Settings(); "
            "print(json.dumps([s.recent_runs(), s.recent_datasets()]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": ROOT}, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == [[str(r) for r in reversed(runs)], [str(tmp_path)]]


def test_the_lists_the_settings_file_held_are_kept(qtbot, settings_dir, tmp_path):
    """A user's lists from before the JSON file (QSettings keys) are read once."""
    from PySide6.QtCore import QSettings

    from workbench.appstate.recent import recent_file

    settings_dir.mkdir()
    old = QSettings(str(settings_dir / "workbench.ini"), QSettings.Format.IniFormat)
    old.setValue("recent/runs", json.dumps(["/a/run", "/b/run"]))
    old.sync()
    del old
    from workbench.appstate.settings import Settings

    assert Settings().recent_runs() == ["/a/run", "/b/run"]
    assert recent_file(str(settings_dir / "workbench.recent.json")).items("datasets") == []


def test_the_user_settings_folder_is_made_for_the_recent_lists(tmp_path):
    """Without WORKBENCH_SETTINGS_DIR the lists sit beside Qt's own settings file, whose
    folder does not exist before Qt's first sync (a new user): a restart still has them."""
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_SETTINGS_DIR"}
    env.update(PYTHONPATH=ROOT, XDG_CONFIG_HOME=str(tmp_path / "config"), HOME=str(tmp_path))
    code = ("import sys; from workbench.appstate.settings import Settings; s = Settings(); "
            "s.add_recent_run(sys.argv[1]) if len(sys.argv) > 1 else None; s.sync(); "
            "print(s.recent_runs())")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, check=True, timeout=60,
                   capture_output=True)
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60,
                         capture_output=True, text=True).stdout
    assert out.strip().splitlines()[-1] == repr([str(tmp_path)])
    assert list((tmp_path / "config").rglob("*.recent.json"))


def test_a_recent_list_that_cannot_be_written_does_not_stop_the_exit(qtbot, settings_dir, tmp_path, caplog):
    from workbench.appstate.settings import Settings

    settings_dir.mkdir()
    (settings_dir / "workbench.recent.json").mkdir()   # in the way: the rename fails
    s = Settings()
    s._recent.flush()   # nothing changed yet: nothing to write
    s.add_recent_run(str(tmp_path))
    s.sync()            # what the window does when it closes: logged, not raised
    assert "Could not save the recent lists" in caplog.text
    assert s.recent_runs() == [str(tmp_path)]
