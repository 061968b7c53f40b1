"""Every run writes TensorBoard events (Keras' TensorBoard callback), read back with
TensorBoard's own event reader."""
from __future__ import annotations

import os

from tests.training.trainutil import mlp_run  # noqa: F401  (shared session fixture)


def _value(event):
    from tensorboard.util.tensor_util import make_ndarray

    return make_ndarray(event.tensor_proto)


def _accumulator(path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(path), size_guidance={"tensors": 0})
    acc.Reload()
    return acc


def test_a_run_logs_epoch_scalars_learning_rate_and_the_confusion_matrix(mlp_run):
    from training.runs.runfolder import RunFolder

    summary, _, _ = mlp_run
    logs = RunFolder(summary.run_dir).tensorboard_dir
    train, val, evaluation = (_accumulator(logs / d) for d in ("train", "validation", "evaluation"))
    tags = set(train.Tags()["tensors"])
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= tags
    losses = [float(_value(e)) for e in train.Tensors("epoch_loss")]
    assert len(losses) == summary.epochs_done
    assert [round(v, 4) for v in losses] == [round(h["loss"], 4) for h in summary.history]
    assert "epoch_loss" in val.Tags()["tensors"]
    (image,) = evaluation.Tensors("confusion_matrix")
    width, height, png = _value(image)
    assert int(width) > 100 and int(height) > 100 and png.startswith(b"\x89PNG")
    # `tensorboard --logdir RUNS_ROOT` finds runs by folder: the logs live inside the run.
    assert os.path.dirname(logs) == summary.run_dir
