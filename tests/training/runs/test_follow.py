"""Run-folder events: live.json for followers and the stop-request file (no TensorFlow)."""
import time

from training.events import Events, StopFlagEvents
from training.runs.follow import (RunFolderEvents, clear_stop_request, read_live, request_stop,
                             stop_requested)
from training.runs.runfolder import LIVE_JSON, STOP_REQUEST


class Inner(StopFlagEvents):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_status(self, message):
        self.calls.append(("status", message))

    def on_batch(self, info):
        self.calls.append(("batch", info["batch"]))

    def on_epoch(self, info):
        self.calls.append(("epoch", info["epoch"]))


def test_stop_request_file_stops_the_run_and_a_stale_one_is_cleared(tmp_path):
    request_stop(tmp_path)
    assert stop_requested(tmp_path)
    inner = Inner()
    events = RunFolderEvents(inner, tmp_path)   # a new run: the old request is void
    assert not (tmp_path / STOP_REQUEST).exists()
    assert not events.should_stop()
    request_stop(tmp_path, who="test")
    deadline = time.monotonic() + 2
    while not events.should_stop() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert events.should_stop()
    assert any("Stop requested from outside" in m for k, m in inner.calls if k == "status")
    clear_stop_request(tmp_path)
    clear_stop_request(tmp_path)   # idempotent


def test_the_callers_own_stop_flag_still_counts(tmp_path):
    inner = Inner()
    events = RunFolderEvents(inner, tmp_path)
    inner.stop()
    assert events.should_stop()


def test_live_json_mirrors_status_batches_and_epochs_at_most_once_a_second(tmp_path):
    inner = Inner()
    events = RunFolderEvents(inner, tmp_path)
    events.on_status("Decoding…")
    assert read_live(tmp_path)["status"] == "Decoding…"
    first = (tmp_path / LIVE_JSON).stat().st_mtime_ns
    for b in range(1, 50):   # a burst of batches: throttled, but every call forwarded
        events.on_batch({"epoch": 1, "epochs": 2, "batch": b, "batches": 50})
    assert [c for c in inner.calls if c[0] == "batch"] == [("batch", b) for b in range(1, 50)]
    live = read_live(tmp_path)
    assert live["batch"] is None or live["batch"]["batch"] < 49
    events.on_epoch({"epoch": 1, "epochs": 2})   # epochs are written at once
    live = read_live(tmp_path)
    assert live["epoch"]["epoch"] == 1 and live["batch"]["batch"] == 49
    assert live["messages"] == ["Decoding…"] and live["pid"] > 0
    assert (tmp_path / LIVE_JSON).stat().st_mtime_ns >= first


def test_read_live_tolerates_missing_and_damaged_files(tmp_path):
    assert read_live(tmp_path) is None
    (tmp_path / LIVE_JSON).write_text("{truncated")
    assert read_live(tmp_path) is None
    RunFolderEvents(Events(), tmp_path).on_status("ok")
    assert read_live(tmp_path)["status"] == "ok"
