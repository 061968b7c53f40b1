"""Stop requests during evaluation: ``evaluate()`` on its own, and the evaluation at the end
of ``train()`` (the other phases, first batch, mid-epoch and fine-tune, are covered in
test_train.py and test_transfer_train.py).

Both datasets are split with a large test share so that evaluation takes at least two
prediction batches (64 images each): the stop arrives after the first batch, which proves
the check *between* batches.
"""
import shutil
import time

import pytest

from tests.imagegen import make_class_folder
from tests.training.trainutil import Recorder, read, tiny_spec
from training.runs import runfolder
from training.runs.runfolder import RunFolder
from training.recipe.config import TrainConfig
from training.data import DatasetSpec
from training.inference.evaluate import evaluate
from training.events import Stopped
from training.fit.train import resume, train


class StopAfterFirstPredictionBatch(Recorder):
    """Asks for a stop as soon as the first evaluation batch has been predicted."""

    def on_progress(self, done, total, what):
        super().on_progress(done, total, what)
        if what.startswith("evaluating") and self.stop_time is None:
            assert done < total, "evaluation must have more than one batch for this test"
            self.stop_time = time.perf_counter()
            self.stop()


def test_evaluate_stops_between_prediction_batches_and_writes_nothing(mlp_run, tmp_path):
    summary, data, _ = mlp_run
    run_dir = tmp_path / "run"
    shutil.copytree(summary.run_dir, run_dir)
    before = (run_dir / runfolder.EVALUATION_JSON).read_bytes()
    run_before = read(run_dir, runfolder.RUN_JSON)
    events = StopAfterFirstPredictionBatch()
    # 90 images, 80 % test: 72 test images = 2 prediction batches.
    with pytest.raises(Stopped):
        evaluate(run_dir, DatasetSpec(str(data), test_fraction=0.8), events=events)
    elapsed = time.perf_counter() - events.stop_time
    assert elapsed < 2.0, f"evaluate() went on {elapsed:.2f} s after the stop"
    batches = [p for p in events.progress if p[2].startswith("evaluating")]
    assert len(batches) == 1  # stopped before the second batch
    assert (run_dir / runfolder.EVALUATION_JSON).read_bytes() == before
    assert read(run_dir, runfolder.RUN_JSON) == run_before


def test_stop_during_training_evaluation_marks_the_run_stopped_and_resume_evaluates(tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=40)
    events = StopAfterFirstPredictionBatch()
    run_dir = tmp_path / "run"
    s = train(DatasetSpec(str(data), test_fraction=0.6), tiny_spec("mlp"),
              TrainConfig(epochs=1, batch_size=8), events, run_dir=str(run_dir))
    elapsed = time.perf_counter() - events.stop_time
    assert elapsed < 2.0, f"train() went on {elapsed:.2f} s after the stop"
    # Training had finished: its epoch and checkpoints are kept, only the test numbers
    # are missing, and the run is listed as stopped (partial), not complete.
    assert s.status == "stopped" and s.epochs_done == 1 and s.test_accuracy is None
    info = RunFolder(run_dir).load()
    assert info["status"] == "stopped" and info["evaluation"] == "skipped"
    assert (run_dir / runfolder.MODEL_BEST).is_file() and (run_dir / runfolder.MODEL_FINAL).is_file()
    assert not (run_dir / runfolder.EVALUATION_JSON).exists()
    assert any("Evaluation stopped" in m for m in events.statuses)
    # Resuming it trains nothing more and evaluates.
    again = Recorder()
    r = resume(run_dir, events=again)
    assert r.status == "complete" and r.epochs_done == 1 and again.epochs == []
    assert r.test_accuracy is not None and (run_dir / runfolder.EVALUATION_JSON).is_file()
    assert read(run_dir, runfolder.RUN_JSON)["evaluation"] == "done"
