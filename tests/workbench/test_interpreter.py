"""Interpreter settings for a responsive GUI thread: short GIL slices, and the objects of
big imports kept out of the garbage collector's walks (see workbench/interpreter.py)."""
import gc
import os
import subprocess
import sys
from pathlib import Path

from workbench.interpreter import GUI_SWITCH_INTERVAL_S, long_lived_objects

ROOT = str(Path(__file__).resolve().parents[2])


def test_long_lived_objects_are_frozen_before_collection_resumes():
    was = gc.isenabled()   # the GUI tests run with the app's collector: automatic collection off
    gc.enable()
    try:
        before = gc.get_freeze_count()
        with long_lived_objects():
            assert not gc.isenabled()          # no collections over a growing heap
            made = [[i] for i in range(20_000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= before + len(made)
        assert not any(gc.is_tracked(m) and m in gc.get_objects(generation=0) for m in made[:3])
    finally:
        if not was:
            gc.disable()


def test_a_disabled_collector_stays_disabled():
    was = gc.isenabled()
    gc.disable()
    try:
        with long_lived_objects():
            pass
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


def test_the_app_entry_point_shortens_the_gil_switch_interval(qtbot, tmp_path):
    """``app.main()`` owns process-wide settings (a widget constructor must not)."""
    from workbench.mainwindow import MainWindow

    old = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        window = MainWindow(probe_device=False)
        qtbot.addWidget(window)
        assert sys.getswitchinterval() == 0.005      # building a window changes nothing
        window.shutdown()
    finally:
        sys.setswitchinterval(old)
    # app.main() runs the event loop to its end (aboutToQuit, exit): in a process of its
    # own, so that the rest of the suite keeps a live application.
    code = ("import sys; from workbench import app; sys.setswitchinterval(0.005); "
            f"code = app.main(['--screenshot', {str(tmp_path / 'shot.png')!r}]); "
            "print('RESULT', code, sys.getswitchinterval())")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", WORKBENCH_SETTINGS_DIR=str(tmp_path / "s"))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                         capture_output=True, timeout=120)
    result = [line for line in out.stdout.splitlines() if line.startswith("RESULT")]
    assert result, out.stdout[-2000:] + out.stderr[-3000:]
    _, exit_code, interval = result[0].split()
    assert exit_code == "0"
    assert float(interval) == GUI_SWITCH_INTERVAL_S
