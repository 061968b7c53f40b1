"""Interpreter settings for a responsive GUI thread: short GIL slices, and the objects of
big imports kept out of the garbage collector's walks (see workbench/interpreter.py)."""
import gc
import sys

from workbench.interpreter import GUI_SWITCH_INTERVAL_S, long_lived_objects


def test_long_lived_objects_are_frozen_before_collection_resumes():
    assert gc.isenabled()
    before = gc.get_freeze_count()
    with long_lived_objects():
        assert not gc.isenabled()          # no collections over a growing heap
        made = [[i] for i in range(20_000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + len(made)
    assert not any(gc.is_tracked(m) and m in gc.get_objects(generation=0) for m in made[:3])


def test_a_disabled_collector_stays_disabled():
    gc.disable()
    try:
        with long_lived_objects():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_main_window_shortens_the_gil_switch_interval(qtbot):
    from workbench.mainwindow import MainWindow

    old = sys.getswitchinterval()
    try:
        window = MainWindow(probe_device=False)
        qtbot.addWidget(window)
        assert sys.getswitchinterval() == GUI_SWITCH_INTERVAL_S
        window.shutdown()
    finally:
        sys.setswitchinterval(old)
