"""The responsiveness benches' late-tick log (bench/late_ticks.py): each late tick of the
GUI-thread probe is recorded with what the GUI thread did meanwhile, so that a 40 ms tick
can be told apart as work, waiting for a core, or being blocked."""
import sys
import time

import pytest

# serial: the thresholds are tens of ms of this process's own threads, which another
# pytest-xdist worker beside it on the same cores would stretch (scripts/test.sh).
pytestmark = [pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
              pytest.mark.serial]


def _late_ticks(qtbot, block):
    from PySide6.QtCore import QTimer

    from bench.gui_stalls import StallSampler, qt_probe

    probe = qt_probe(10)
    sampler = StallSampler(probe, threshold_ms=30, every_ms=2)

    def blocker():   # a slot the event loop calls: its name is what the stacks must show
        block()

    with sampler:
        probe.start()
        qtbot.wait(100)
        QTimer.singleShot(0, blocker)
        # The record closes at the sampler's first look after the next tick.
        qtbot.waitUntil(lambda: any(r["late_ms"] >= 60 for r in sampler.ticks.records), timeout=10_000)
        probe.stop()
    return sampler.ticks.records


def test_a_busy_slot_is_recorded_as_cpu_with_its_stack(qtbot):
    def spin():
        end = time.thread_time() + 0.08
        while time.thread_time() < end:
            pass

    records = [r for r in _late_ticks(qtbot, spin) if r["late_ms"] >= 60]
    assert len(records) == 1, records
    r = records[0]
    assert r["gui_cpu_ms"] >= 60, r
    assert any("blocker" in key and "spin" in key for _, key in r["stacks"]), r["stacks"]


def test_a_blocking_call_is_recorded_as_blocked_not_cpu(qtbot):
    records = [r for r in _late_ticks(qtbot, lambda: time.sleep(0.08)) if r["late_ms"] >= 60]
    assert len(records) == 1, records
    r = records[0]
    blocked = r["wall_ms"] - r["gui_cpu_ms"] - r["gui_runq_ms"]
    assert r["gui_cpu_ms"] < 20 and blocked >= 60, r
    assert any("blocker" in key for _, key in r["stacks"]), r["stacks"]


def test_a_collection_in_a_late_tick_is_named(qtbot):
    import gc

    def collect_then_spin():
        gc.collect()
        end = time.thread_time() + 0.08
        while time.thread_time() < end:
            pass

    records = [r for r in _late_ticks(qtbot, collect_then_spin) if r["late_ms"] >= 60]
    assert len(records) == 1, records
    assert [g for g, _ in records[0]["gc"]] == [2], records[0]["gc"]
