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


# Matplotlib's "Blues" from its lightest to its darkest colour.
_LIGHT, _DARK = np.array([247, 251, 255], np.float32), np.array([8, 48, 107], np.float32)
_CELL, _MAX_SIDE, _NAME_CHARS = 40, 960, 18


def confusion_image(cm, classes) -> np.ndarray:
    """An RGB uint8 picture of a confusion matrix (rows: true, columns: predicted): cells
    shaded light to dark blue by count, the counts written in them up to 20 classes, the
    class names beside the rows and under the columns.

    Drawn with Pillow, not Matplotlib: the figure's layout and drawing took 0.5-1.1 s of
    every run's end on a busy 2-core machine, this takes milliseconds (issue 21).
    """
    from PIL import Image, ImageDraw, ImageFont

    cm = np.asarray(cm, np.float64)
    n = len(classes)
    cell = max(6, min(_CELL, _MAX_SIDE // max(1, n)))
    font = ImageFont.load_default()
    names = [str(c) if len(str(c)) <= _NAME_CHARS else str(c)[:_NAME_CHARS - 1] + "…"
             for c in classes]
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    name_w = max([probe.textbbox((0, 0), t, font=font)[2] for t in names] + [10]) + 8
    line_h = probe.textbbox((0, 0), "Ag", font=font)[3] + 4
    left, top = name_w + line_h, 2 * line_h
    side = cell * n
    img = Image.new("RGB", (left + side + 8, top + side + name_w + line_h), "white")
    draw = ImageDraw.Draw(img)
    peak = float(cm.max()) if cm.size else 0.0
    level = cm / peak if peak > 0 else np.zeros_like(cm)
    for i in range(n):
        for j in range(n):
            rgb = _LIGHT + (_DARK - _LIGHT) * level[i, j]
            x0, y0 = left + j * cell, top + i * cell
            draw.rectangle((x0, y0, x0 + cell - 1, y0 + cell - 1), fill=tuple(int(v) for v in rgb))
            if n <= 20:
                draw.text((x0 + cell / 2, y0 + cell / 2), str(int(cm[i, j])), font=font, anchor="mm",
                          fill="white" if level[i, j] > 0.5 else "black")
    draw.text((left + side / 2, line_h / 2), "Confusion matrix (test)", font=font, anchor="mm",
              fill="black")
    if cell < line_h - 4:  # names taller than their rows would overlap: numbers only
        names = [str(i) for i in range(n)] if cell >= line_h // 2 else [""] * n
    for i, name in enumerate(names):  # true classes, right-aligned beside their rows
        draw.text((left - 4, top + i * cell + cell / 2), name, font=font, anchor="rm", fill="black")
    # Predicted classes under their columns, written upwards: a strip of text turned a
    # quarter anticlockwise, which takes its row y to column y and its right end to the top.
    strip = Image.new("RGB", (name_w, side), "white")
    sdraw = ImageDraw.Draw(strip)
    for j, name in enumerate(names):
        sdraw.text((name_w - 4, j * cell + cell / 2), name, font=font, anchor="rm", fill="black")
    img.paste(strip.rotate(90, expand=True), (left, top + side + 2))
    draw.text((left + side / 2, top + side + name_w + line_h / 2), "Predicted class", font=font,
              anchor="mm", fill="black")
    label = Image.new("RGB", (side, line_h), "white")
    ImageDraw.Draw(label).text((side / 2, line_h / 2), "True class", font=font, anchor="mm",
                               fill="black")
    img.paste(label.rotate(90, expand=True), (0, top))
    return np.asarray(img, np.uint8).copy()


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
