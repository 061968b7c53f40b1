"""Long sessions: twenty consecutive trainings in one process must not grow without bound."""
import os
from pathlib import Path

import pytest

from tests.imagegen import make_class_folder
from tests.training.trainutil import tiny_spec
from training.recipe.config import TrainConfig
from training.data import DatasetSpec
from training.fit.train import train


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads RSS from /proc")
def test_twenty_trainings_keep_memory_bounded(tmp_path, capsys):
    data = make_class_folder(tmp_path / "data", per_class=8)
    dataset = DatasetSpec(str(data), test_fraction=0.0, val_fraction=0.25)
    rss = []
    for i in range(20):
        s = train(dataset, tiny_spec("mlp"), TrainConfig(epochs=1, batch_size=8),
                  run_dir=str(tmp_path / f"run{i:02d}"))
        assert s.status == "complete"
        rss.append(rss_mb())
    with capsys.disabled():
        print(f"\nRSS after run 2: {rss[1]:.0f} MB, after run 20: {rss[-1]:.0f} MB, "
              f"max {max(rss):.0f} MB")
    assert rss[-1] - rss[1] < 300


def test_a_complete_run_leaves_the_full_collection_to_the_next_run(tmp_path):
    """The full gc after a run (0.2-1 s) is left to the next train(), which starts with
    one: the process that ran it usually exits next (issue 21)."""
    import gc
    import time

    from tests.training.trainutil import Recorder

    class Timed(Recorder):
        def on_status(self, message):
            super().on_status(message)
            if message.startswith("Run complete"):
                self.ended = time.perf_counter()

    full = []

    def note(phase, info):
        if phase == "start" and info["generation"] == 2:
            full.append(time.perf_counter())

    data = make_class_folder(tmp_path / "data", per_class=8)
    dataset = DatasetSpec(str(data), test_fraction=0.0, val_fraction=0.25)
    events = Timed()
    gc.callbacks.append(note)
    try:
        s = train(dataset, tiny_spec("mlp"), TrainConfig(epochs=1, batch_size=8), events,
                  run_dir=str(tmp_path / "run1"))
        returned = time.perf_counter()
        again = train(dataset, tiny_spec("mlp"), TrainConfig(epochs=1, batch_size=8),
                      run_dir=str(tmp_path / "run2"))
    finally:
        gc.callbacks.remove(note)
    assert s.status == again.status == "complete"
    assert not [t for t in full if events.ended < t < returned]  # none after the run ended
    assert [t for t in full if t > returned]  # the next train() collects
