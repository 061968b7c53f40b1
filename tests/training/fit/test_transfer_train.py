"""Transfer learning: the cached-features head phase, then the fine-tune phase, then a stop.

One run covers all three because every trace of a backbone costs seconds on 2 cores: a
MobileNetV2 (alpha 0.35, random weights, 32x32) with a frozen base is trained for one
epoch on precomputed features, fine-tuned from layer 140 for up to two more epochs, and
stopped during the second of those (``tests.training.trainutil.transfer_run``, a session
fixture the export test reads too). The code paths are those of an ImageNet backbone.
"""
import numpy as np
import pytest

from tests.training.trainutil import read
from training.runs import runfolder
from training.data import open_dataset
from tests.decoded import load_arrays
from training.data.index import VALIDATION
from training.inference.evaluate import metrics_from_predictions
from training.inference.predict import predict_probabilities
from training.runs.runfolder import RunFolder, load_model_file


@pytest.mark.slow
def test_feature_head_phase_then_fine_tune_continues_epochs_and_stops_quickly(transfer_run):
    s, run_dir, data = transfer_run["summary"], transfer_run["run_dir"], transfer_run["data"]
    events, snapshot = transfer_run["events"], transfer_run["snapshot"]
    assert transfer_run["stop_latency"] is not None and transfer_run["stop_latency"] < 2.0

    # Head phase ran on cached features.
    assert s.timings["features"] > 0
    assert any("features" in what for _, _, what in events.progress)
    # Fine-tune continued the epoch count, at its own learning rate, then stopped.
    assert s.status == "stopped"
    history = read(run_dir, "history.json")
    assert [(h["epoch"], h["phase"]) for h in history] == [(1, "train"), (2, "fine_tune")]
    assert all(e["epochs"] == 3 for e in events.epochs)
    assert history[1]["lr"] == pytest.approx(1e-4)
    assert any("Fine-tuning from backbone layer 140" in m for m in events.statuses)
    assert events.batches[-1]["phase"] == "fine_tune" and events.batches[-1]["epoch"] == 3
    checkpoint = read(run_dir, "run.json")["checkpoint"]
    assert checkpoint["phase"] == "fine_tune" and checkpoint["epoch"] == 2
    assert (run_dir / runfolder.MODEL_BEST).is_file() and (run_dir / runfolder.MODEL_FINAL).is_file()
    last = RunFolder(run_dir).load_model("last", compile=True)
    backbone = last.get_layer("mobilenet_v2")
    trainable = [i for i, layer in enumerate(backbone.layers) if layer.trainable and layer.weights]
    assert trainable and min(trainable) >= 140  # unfrozen from layer 140 on (BN excluded)

    # The end-to-end model saved after the feature-trained epoch gives the validation
    # loss the head reported on features: the same predictions, from raw images.
    index = open_dataset(str(data))
    prepared = load_arrays(index, (32, 32), "rgb")
    val = np.flatnonzero(prepared.splits == VALIDATION)
    model = load_model_file(snapshot)
    probs = predict_probabilities(model, prepared.x[val])
    loss = metrics_from_predictions(prepared.y[val], probs, index.classes)["loss"]
    assert loss == pytest.approx(history[0]["val_loss"], rel=1e-3)
