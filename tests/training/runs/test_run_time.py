"""A run's time counts every segment (issue 22 item 5): a stopped and resumed run lists
the seconds of both segments, not only the last one's."""
import json
import time

from tests.imagegen import make_class_folder
from tests.training.trainutil import Recorder, tiny_spec


class _SlowFirstEpoch(Recorder):
    """Stops after the first epoch, which it makes take at least 2 s."""

    def __init__(self):
        super().__init__(stop_when=lambda kind, p: kind == "epoch")

    def on_epoch(self, info):
        time.sleep(2.0)
        super().on_epoch(info)


def test_resumed_run_time_counts_every_segment(tmp_path):
    from training.fit.train import resume, train
    from training.recipe.config import TrainConfig
    from training.runs.listing import list_runs

    data = make_class_folder(tmp_path / "data", per_class=6, size=8)
    runs = tmp_path / "runs"
    first = train(str(data), tiny_spec("mlp", size=8), TrainConfig(epochs=3, batch_size=8),
                  _SlowFirstEpoch(), run_dir=str(runs / "r"))
    assert first.status == "stopped"
    first_seconds = json.loads((runs / "r" / "run.json").read_text())["timings"]["total"]
    assert first_seconds >= 2.0
    second = resume(str(runs / "r"))
    assert second.status == "complete"
    info = json.loads((runs / "r" / "run.json").read_text())
    [listed] = list_runs(runs)
    assert listed["duration"] >= first_seconds + info["timings"]["total"] - 1e-6
    assert listed["duration"] >= sum(h["seconds"] for h in json.loads((runs / "r" / "history.json").read_text()))


def test_a_run_whose_process_died_counts_up_to_its_last_write_not_to_when_it_was_found(tmp_path):
    """A killed training found dead later (the app restarted, a followed run's host
    check) is closed with its last sign of life as its end: the hours in between are not
    training time."""
    import os
    import socket
    import subprocess
    import sys

    from training.runs.runfolder import RunFolder
    from training.runs.writer import run_seconds

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    now = time.time()
    run = tmp_path / "r"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({
        "schema_version": 1, "status": "running", "started": now - 3600,
        "pid": dead.pid, "host": socket.gethostname()}))
    os.utime(run / "run.json", (now - 3000, now - 3000))   # its last epoch, 10 minutes in
    assert RunFolder(run).close_dead_run("interrupted", "killed")
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "interrupted" and info["finished"] == now - 3000
    assert abs(run_seconds(info) - 600) < 1
