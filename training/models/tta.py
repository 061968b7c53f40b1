"""Flip test-time augmentation, inside the model: the one owner of "a run's probabilities
average the image and its mirror".

A model whose spec trains with horizontal flips (``AugmentationSpec.flip_tta``: Auto
decided flips are safe, or the person turned them on) is built with two extra layers
(``training.models.build``):

    image -> augmentation -> MirrorViews -> ... the network ... -> predictions -> MeanOfViews

In inference mode :class:`MirrorViews` turns a batch of N images into 2N (the images,
then their left-right mirrors) and :class:`MeanOfViews` averages the two halves of the
head's softmax back into N rows. When training (``training=True``) both pass their input
through, so training, its cost and its BatchNormalization statistics are exactly those
of the model without them; validation during ``fit`` is inference, so the best epoch is
chosen on the probabilities the app will show.

Why in the graph and not in a predict helper: everything that computes a run's
probabilities calls the model (the post-fit pass shared by calibration, the unknown rule,
evaluation and its galleries; ``Predictor``; the compute service; every export, which is
traced from ``model(x, training=False)`` and gated against the Keras model), so all of
them agree without knowing about it. Neither layer has weights; both are registered with
Keras, so the model still loads with ``safe_mode=True`` (no ``Lambda``).

What looks inside the model: the penultimate features (``training.features.embeddings``)
of such a model are the mean of the two views' features, and Grad-CAM
(``training.inference.gradcam``) explains both views, the mirror's map mirrored back.
"""
from __future__ import annotations

import keras
from keras import ops

VIEWS = 2  # the image and its left-right mirror


@keras.saving.register_keras_serializable(package="image_workbench")
class MirrorViews(keras.layers.Layer):
    """Inference: ``concat([x, mirror(x)])`` along the batch (N -> 2N images, NHWC);
    training: ``x`` unchanged."""

    def call(self, inputs, training=False):
        if training:
            return inputs
        return ops.concatenate([inputs, ops.flip(inputs, axis=2)], axis=0)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="image_workbench")
class MeanOfViews(keras.layers.Layer):
    """Inference: the mean of the two halves of a :class:`MirrorViews` batch (2N -> N
    rows); training: the input unchanged."""

    def call(self, inputs, training=False):
        if training:
            return inputs
        views = ops.reshape(inputs, (VIEWS, -1, *inputs.shape[1:]))
        return ops.mean(views, axis=0)

    def compute_output_shape(self, input_shape):
        return input_shape


def has_flip_tta(model) -> bool:
    """Whether ``model`` (a functional model of ``training.models.build``) averages the
    image and its mirror when predicting."""
    return any(isinstance(layer, MirrorViews) for layer in getattr(model, "layers", ()))


def is_tta_layer(layer) -> bool:
    return isinstance(layer, (MirrorViews, MeanOfViews))


def views(model) -> int:
    """Rows per image inside ``model`` in inference mode: 2 with flip TTA, else 1."""
    return VIEWS if has_flip_tta(model) else 1


def view_probabilities(model):
    """A model from ``model``'s input to what its ``MeanOfViews`` averages: the head's
    probabilities, one row per view (the N images, then their N mirrors). For measuring
    TTA (``bench/default_accuracy.py``) and testing it.

    Raises:
        ValueError: ``model`` has no flip TTA.
    """
    mean = next((layer for layer in model.layers if isinstance(layer, MeanOfViews)), None)
    if mean is None:
        raise ValueError(f"The model {model.name!r} has no flip test-time augmentation.")
    return keras.Model(model.inputs, mean.input, name=f"{model.name}_views")
