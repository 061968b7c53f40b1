"""The responsiveness benches' GIL-hold watcher (bench/gil_holds.py): a thread that keeps
the GIL in one long C call is named, with the line that made the call, and a thread that
only sleeps is not."""
import sys
import threading
import time

import pytest

# serial: the thresholds are tens of ms of this process's own threads, which another
# pytest-xdist worker beside it on the same cores would stretch (scripts/test.sh).
pytestmark = [pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
              pytest.mark.serial]


def _one_long_c_call():
    # sum() over a range runs in C and never lets go of the GIL: tens of ms in one piece,
    # like a big Agg draw.
    return sum(range(2_000_000))


def _watch(target) -> list[dict]:
    from bench.gil_holds import GilHolds

    worker = threading.Thread(target=target, name="holder", daemon=True)
    with GilHolds(every_s=0.002, threshold_ms=10) as holds:
        time.sleep(0.05)
        worker.start()
        worker.join(30)
        time.sleep(0.05)
    return holds.records


def test_a_long_c_call_is_named_with_its_thread_and_line():
    def hold():
        time.sleep(0.02)   # the watcher sees the new thread first
        for _ in range(4):
            _one_long_c_call()
            time.sleep(0.01)

    records = _watch(hold)
    long_ones = [r for r in records if r["holder"] == "holder" and r["held_ms"] >= 15]
    assert long_ones, records
    assert any("_one_long_c_call" in r["stack"] for r in long_ones), long_ones


def test_a_sleeping_thread_is_never_taken_for_a_holder():
    records = _watch(lambda: time.sleep(0.3))
    assert not [r for r in records if r["holder"] == "holder"], records
