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
