"""train(): real Keras on tiny generated datasets, every source, run folders, stop requests.

The images carry a learnable pattern per class (tests/imagegen.py), so a working pipeline
reaches high accuracy in a few epochs while a broken one (labels shuffled, wrong scaling)
stays near chance.
"""
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.imagegen import make_class_folder, make_csv_dataset, make_idx_dataset, make_split_folder
from tests.training.trainutil import Recorder, read, tiny_spec
from training.runs import runfolder
from training.runs.runfolder import RunFolder
from training.recipe.config import TrainConfig
from training.data import open_dataset
from training.fit.train import train

RUN_FILES = {"run.json", "spec.json", "config.json", "dataset.json", "classes.json", "history.json",
             "model_best.keras", "model_final.keras", "model_last.keras", "evaluation.json"}


def test_class_folder_mlp_learns_and_writes_a_complete_run(mlp_run):
    s, data, events = mlp_run
    assert s.status == "complete" and s.epochs_done == 4
    assert s.test_accuracy >= 0.8, s.confusion_matrix  # 3 classes: chance is 0.33
    assert set(RUN_FILES) <= {p.name for p in Path(s.run_dir).iterdir()}

    info = RunFolder(s.run_dir).load()
    assert info["status"] == "complete" and info["epochs_done"] == 4 and info["pid"] > 0
    assert info["model"] == "mlp" and info["classes"] == ["cat", "dog", "fox"]
    assert info["test_accuracy"] == pytest.approx(s.test_accuracy)
    assert set(info["timings"]) >= {"decode", "train", "evaluate", "total"}
    assert info["device"] == "CPU" or info["device"]
    dataset = read(s.run_dir, "dataset.json")
    assert dataset["spec"]["path"] == str(data) and len(dataset["fingerprint"]) == 16
    assert dataset["counts"]["train"]["cat"] > 0
    history = read(s.run_dir, "history.json")
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert set(history[0]) >= {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds", "best"}
    assert read(s.run_dir, "config.json")["epochs"] == 4
    assert read(s.run_dir, "spec.json")["template"] == "mlp"
    evaluation = read(s.run_dir, "evaluation.json")
    assert np.array(evaluation["confusion_matrix"]).sum() == evaluation["num_samples"] > 0
    assert evaluation["split"] == "test"

    # Events: per-epoch metrics as plain data; per-batch progress throttled but present.
    assert [e["epoch"] for e in events.epochs] == [1, 2, 3, 4]
    assert all(e["phase"] == "train" and e["epochs"] == 4 for e in events.epochs)
    assert isinstance(events.epochs[0]["val_accuracy"], float)
    assert events.batches and set(events.batches[0]) >= {"epoch", "batch", "batches", "loss", "accuracy"}
    assert events.batches[-1]["batch"] == events.batches[-1]["batches"]  # last batch always sent
    assert any(p[2].lower().startswith("evaluating") for p in events.progress)
    with pytest.raises(runfolder.RunError, match="already holds a run"):
        train(str(data), tiny_spec("mlp"), TrainConfig(epochs=1), run_dir=s.run_dir)


def test_split_folder_cnn_uses_the_source_split(tmp_path):
    data = make_split_folder(tmp_path / "split", classes=("cat", "dog"), counts=(30, 6, 6))
    s = train(str(data), tiny_spec("cnn"), TrainConfig(epochs=3, batch_size=8))
    assert s.status == "complete"
    assert s.test_accuracy >= 0.8
    dataset = read(s.run_dir, "dataset.json")
    assert dataset["counts"]["test"] == {"cat": 6, "dog": 6}
    assert Path(s.run_dir).parent == runfolder.default_runs_root()  # default location from the env


def test_csv_binary_head(tmp_path):
    csv = make_csv_dataset(tmp_path / "cactus", n=60)
    s = train(str(csv), tiny_spec("mlp"), TrainConfig(epochs=4, batch_size=8))
    assert s.classes == ["0", "1"] and s.status == "complete"
    assert s.test_accuracy >= 0.8
    evaluation = read(s.run_dir, "evaluation.json")
    assert len(evaluation["predictions"][0]["probabilities"]) == 2  # sigmoid -> [1-p, p]
    assert sum(evaluation["predictions"][0]["probabilities"]) == pytest.approx(1.0)


def test_idx_grayscale_cnn(tmp_path):
    root = make_idx_dataset(tmp_path / "idx", n_train=80, n_test=20, size=8, classes=4)
    s = train(str(root), tiny_spec("cnn", size=8, color="grayscale", blocks=1),
              TrainConfig(epochs=5, batch_size=8))
    assert s.status == "complete" and len(s.classes) == 4
    assert s.test_accuracy >= 0.7  # chance 0.25


def test_early_stopping_restore_best_index_input_and_mixed_precision_off_gpu(tmp_path):
    import keras

    from training.fit.device import describe_devices

    data = make_class_folder(tmp_path / "data", per_class=10)
    index = open_dataset(str(data))  # an opened index works as well as a spec or path
    events = Recorder()
    # A huge learning rate makes val_loss jump around, so patience=1 stops early.
    s = train(index, tiny_spec("mlp"), TrainConfig(epochs=30, batch_size=4, learning_rate=5.0,
                                                   optimizer="sgd", patience=1, lr_schedule="plateau",
                                                   mixed_precision=True), events)
    if not describe_devices()["gpus"]:
        assert any("Mixed precision ignored" in m for m in events.statuses)
    assert keras.mixed_precision.global_policy().name == "float32"
    assert s.epochs_done < 30
    assert read(s.run_dir, "run.json")["early_stopped"] is True
    history = read(s.run_dir, "history.json")
    best = min(history, key=lambda h: h["val_loss"])
    assert s.best_epoch == best["epoch"]
    assert history[-1]["epoch"] - s.best_epoch == 1


def test_stop_before_the_first_batch_is_not_lost(tmp_path):
    """A stop arriving while fit() starts (fit resets stop_training) still stops the run."""
    data = make_class_folder(tmp_path / "data", per_class=8)

    class StopInsideFit(Recorder):
        def should_stop(self):
            # True only when asked from the Keras callback, i.e. after fit() has begun
            # (through the run folder's events, training/runs/follow.py, which wrap these).
            caller = sys._getframe(1)
            return any(f.f_code.co_filename.endswith("callbacks.py")
                       for f in (caller, caller.f_back) if f is not None)

    events = StopInsideFit()
    s = train(str(data), tiny_spec("mlp"), TrainConfig(epochs=5, batch_size=4), events)
    assert s.status == "stopped" and s.epochs_done == 0 and events.epochs == []
    assert read(s.run_dir, "history.json") == []
    assert not (Path(s.run_dir) / "model_best.keras").exists()
    assert RunFolder(s.run_dir).load()["status"] == "stopped"


def test_stop_requested_before_train_writes_a_stopped_run(tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=8)
    events = Recorder()
    events.stop()
    s = train(str(data), tiny_spec("mlp"), TrainConfig(epochs=5), events)
    assert s.status == "stopped" and s.epochs_done == 0 and s.test_accuracy is None


def test_stop_mid_epoch_is_fast_and_keeps_the_best_checkpoint(tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=40)
    events = Recorder(stop_when=lambda kind, p: kind == "batch" and p["epoch"] == 2 and p["batch"] >= 2)
    s = train(str(data), tiny_spec("mlp"), TrainConfig(epochs=5, batch_size=1), events)
    elapsed = time.perf_counter() - events.stop_time
    assert elapsed < 2.0
    assert s.status == "stopped" and s.epochs_done == 1  # the cut-short epoch 2 is not recorded
    last_batch = events.batches[-1]
    assert last_batch["epoch"] == 2 and last_batch["batch"] < last_batch["batches"]
    assert (Path(s.run_dir) / "model_best.keras").is_file()
    assert (Path(s.run_dir) / "model_final.keras").is_file()
    info = RunFolder(s.run_dir).load()
    assert info["status"] == "stopped" and info["best_epoch"] == 1


def test_bad_spec_fails_before_writing_anything(tmp_path):
    from training.models import LayerSpec, SpecError

    data = make_class_folder(tmp_path / "data", per_class=6)
    spec = tiny_spec("mlp")
    spec.layers.insert(0, LayerSpec("Dropout", {"rate": 3.0}))
    with pytest.raises(SpecError):
        train(str(data), spec, TrainConfig(epochs=1), run_dir=str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()
