"""TensorBoard event files for every run: ``tensorboard --logdir RUNS_ROOT`` shows them all.

Per-epoch scalars (loss, accuracy, their validation twins, the learning rate) come from
Keras' own ``TensorBoard`` callback, not hand-written events; the final confusion matrix
is added as an image under ``<run>/tensorboard/evaluation``. TensorBoard lists each run
by its folder name because the logs live in ``<runs root>/<run>/tensorboard``.
"""
from __future__ import annotations

import logging

import keras
import numpy as np

from training.runs.runfolder import RunFolder

log = logging.getLogger(__name__)


class RunTensorBoard(keras.callbacks.TensorBoard):
    """Keras' TensorBoard callback, per epoch only (no graph, histograms or profiler),
    which can be closed after a ``fit()`` cut short by a stop (``on_train_end`` never ran)."""

    def __init__(self, run_dir, skip_epoch=None):
        self.skip_epoch = skip_epoch  # () -> True for an epoch cut short by a stop
        super().__init__(log_dir=str(RunFolder(run_dir).tensorboard_dir), histogram_freq=0,
                         write_graph=False, write_images=False, update_freq="epoch",
                         profile_batch=0)

    def on_epoch_end(self, epoch, logs=None):
        # A partial epoch is not recorded in history.json either: its numbers mislead.
        if self.skip_epoch is not None and self.skip_epoch():
            return
        super().on_epoch_end(epoch, logs)

    def close(self) -> None:
        try:
            self._close_writers()
        except Exception:  # logs are a convenience; never fail the run on them
            log.warning("Could not close the TensorBoard writers", exc_info=True)


def confusion_image(cm, classes) -> np.ndarray:
    """An RGB uint8 picture of a confusion matrix (rows: true, columns: predicted)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cm = np.asarray(cm)
    n = len(classes)
    side = min(12.0, 2.5 + 0.5 * n)
    fig = Figure(figsize=(side, side), dpi=80)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(n), [str(c) for c in classes], rotation=45, ha="right")
    ax.set_yticks(range(n), [str(c) for c in classes])
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    ax.set_title("Confusion matrix (test)")
    if n <= 20:
        top = cm.max() if cm.size else 0
        for i in range(n):
            for j in range(n):
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center",
                        color="white" if top and cm[i, j] > top / 2 else "black", fontsize=8)
    fig.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()


def log_confusion_matrix(run_dir, cm, classes, step: int) -> None:
    """Write the confusion matrix as an image event (``evaluation`` in TensorBoard)."""
    import tensorflow as tf

    try:
        image = confusion_image(cm, classes)
        writer = tf.summary.create_file_writer(str(RunFolder(run_dir).tensorboard_dir / "evaluation"))
        with writer.as_default():
            tf.summary.image("confusion_matrix", image[None], step=int(step))
        writer.close()
    except Exception:  # logs are a convenience; never fail the run on them
        log.warning("Could not write the confusion matrix to TensorBoard", exc_info=True)
