"""The training loss with label smoothing for integer labels.

Keras' ``SparseCategoricalCrossentropy`` has no ``label_smoothing`` (only the one-hot
``CategoricalCrossentropy`` has), and the pipelines here yield class indices. Label
smoothing (target ``1 - s`` for the true class, ``s / C`` spread over all) is one of the
airbench ingredients (issue 21): it keeps a small model from pushing its logits ever
further on the easy images late in a run.

Registered with Keras (``image_workbench>SmoothedSparseCrossentropy``), so a checkpoint
compiled with it loads with ``safe_mode=True`` once this module is imported
(``training.models.load_model`` does).
"""
from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="image_workbench")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy of softmax probabilities against smoothed integer labels.

    Args:
        label_smoothing: ``s`` in 0..1; 0 is the plain sparse categorical cross-entropy.
    """

    def __init__(self, label_smoothing: float = 0.1, name: str = "smoothed_sparse_crossentropy",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        ops = keras.ops
        classes = ops.shape(y_pred)[-1]
        y = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), classes,
                        dtype=y_pred.dtype)
        s = self.label_smoothing
        y = y * (1.0 - s) + s / ops.cast(classes, y_pred.dtype)
        return keras.losses.categorical_crossentropy(y, y_pred)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def training_loss(binary: bool, label_smoothing: float):
    """The loss ``compile`` gets: binary or sparse categorical, smoothed when ``s > 0``."""
    if binary:
        return keras.losses.BinaryCrossentropy(label_smoothing=float(label_smoothing)) \
            if label_smoothing else "binary_crossentropy"
    if label_smoothing:
        return SmoothedSparseCrossentropy(label_smoothing)
    return "sparse_categorical_crossentropy"
