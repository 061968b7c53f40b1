"""The augmentation layer: Keras' random image layers, applied only when training.

Why a layer of our own: Keras 3's image augmentation layers default to ``training=True``
(``BaseImagePreprocessingLayer.call(data, training=True)``) and a functional model
called as ``model(x)`` passes no ``training`` value down, so ``model(x)`` would flip and
rotate a photo being classified (measured here: outputs differ by up to 0.17 between
calls). This wrapper defaults to ``training=False``, like ``Dropout``; ``fit()`` passes
``training=True``.

It is registered with Keras (``image_workbench>Augmentation``), so a saved model loads
with ``safe_mode=True`` once this module has been imported:
:func:`training.models.load_model` does that.
"""
from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="image_workbench")
class Augmentation(keras.layers.Layer):
    """Random flip, rotation, zoom, contrast and translation, as in :class:`AugmentationSpec`.

    Args:
        flip: ``"none"``, ``"horizontal"``, ``"vertical"`` or ``"horizontal_and_vertical"``.
        rotation: fraction of a full turn (``keras.layers.RandomRotation`` factor).
        zoom: fraction of the size, in and out (``RandomZoom``).
        contrast: ``RandomContrast`` factor; images are 0..255 here.
        translation: fraction of height and width (``RandomTranslation``).
    """

    def __init__(self, flip="none", rotation=0.0, zoom=0.0, contrast=0.0, translation=0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.flip, self.rotation, self.zoom = flip, float(rotation), float(zoom)
        self.contrast, self.translation = float(contrast), float(translation)
        L = keras.layers
        steps = []
        if flip != "none":
            steps.append(L.RandomFlip(flip, name="flip"))
        if self.rotation:
            steps.append(L.RandomRotation(self.rotation, name="rotation"))
        if self.zoom:
            steps.append(L.RandomZoom((-self.zoom, self.zoom), name="zoom"))
        if self.contrast:
            steps.append(L.RandomContrast(self.contrast, value_range=(0, 255), name="contrast"))
        if self.translation:
            steps.append(L.RandomTranslation(self.translation, self.translation,
                                             name="translation"))
        self.steps = steps

    def build(self, input_shape):
        for step in self.steps:
            step.build(input_shape)
        self.built = True

    def call(self, inputs, training=False):
        if not training:
            return inputs
        x = inputs
        for step in self.steps:
            x = step(x, training=True)
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(flip=self.flip, rotation=self.rotation, zoom=self.zoom,
                      contrast=self.contrast, translation=self.translation)
        return config


def load_model(path, compile: bool = True):
    """Loads a ``.keras`` model made by :func:`build_model`, always with ``safe_mode=True``.

    Raises:
        ValueError: from Keras, for a file that needs unsafe deserialisation (a
            ``Lambda`` layer, say) or is not a Keras model.
    """
    # Registering imports: the smoothed loss (for compile=True) and the flip TTA layers.
    import training.models.losses
    import training.models.tta  # noqa: F401

    return keras.saving.load_model(str(path), compile=compile, safe_mode=True)
