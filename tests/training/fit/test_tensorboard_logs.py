"""Every run writes TensorBoard events (Keras' TensorBoard callback), read back with
TensorBoard's own event reader."""
from __future__ import annotations

import os



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


def test_the_confusion_image_shades_each_cell_by_its_count():
    import numpy as np

    from training.fit.tensorboard import confusion_image

    cm = np.zeros((3, 3), int)
    cm[1, 1], cm[0, 2] = 100, 50  # the darkest cell, and one half as dark above-right of it
    image = confusion_image(cm, ["cat", "dog", "a rather long class name indeed"])
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    rgb = image.astype(int)

    def cell(colour):
        ys, xs = np.nonzero((np.abs(rgb - colour) <= 3).all(axis=2))
        return ys.mean(), xs.mean(), len(ys)

    dark_y, dark_x, dark_n = cell([8, 48, 107])      # Matplotlib's darkest "Blues"
    half_y, half_x, half_n = cell([127, 149, 181])    # halfway to white
    assert dark_n > 500 and half_n > 500              # whole cells, not stray pixels
    assert half_y < dark_y and half_x > dark_x        # row 0 above row 1, column 2 right of 1
    # Cell sides are equal: the half-dark cell sits one row up and one column right.
    assert abs((dark_y - half_y) - (half_x - dark_x)) < 3
    blank = confusion_image(np.zeros((3, 3), int), ["a", "b", "c"])
    assert not (np.abs(blank.astype(int) - [8, 48, 107]) <= 3).all(axis=2).any()
