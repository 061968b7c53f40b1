"""Grad-CAM: which part of an image made a model choose a class (Selvaraju et al. 2017).

Three cases, picked once per model:

- **Top-level convolutions** (the CNN template): a two-output model from the input to
  the last convolution's output and to the head's input (keras.io's Grad-CAM example).
- **A nested backbone** (MobileNetV2, EfficientNetB0, ResNet50 inside the functional
  model): a model from the outer input to an inner layer's output fails in Keras 3.15
  ("Output with path `0` is not connected to `inputs`"), so the two-output model is
  built inside the backbone's own graph (``keras.Model(bb.input, [conv, bb.output])``)
  and the outer layers (preprocessing before it, pooling/dense after it) are replayed
  around it, in order. Our models are chains (``training.models.build``); a graph that
  is not one is reported as unsupported instead of explained wrongly.
- **No convolution** (the MLP): the gradient of the class score with respect to the
  input pixels (a saliency map).

The class score is the pre-softmax logit (``features @ W + b`` of the head ``Dense``; for
a two-class sigmoid head ``+z``/``-z``): softmax saturates, and its gradients with it.
A model with flip test-time augmentation (``training.models.tta``) runs every image as
two views, the image and its mirror, and predicts their mean: the class is that mean's
top class, the score the sum of its logit in both views, and the map the sum of both
views' maps, the mirror's mirrored back onto the image.
The loaded model is never modified.
"""
from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

GRADCAM, SALIENCY = "grad-cam", "saliency"


class GradCamError(ValueError):
    """The model cannot be explained this way (the message says why)."""


def _is_spatial(layer) -> bool:
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return False
    return len(shape) == 4


def _head(model):
    from training.features.embeddings import head_layer

    return head_layer(model)


class GradCam:
    """Heatmaps for one Keras classifier.

    Args:
        model: a classifier whose input takes 0..255 floats and whose last layer is the
            ``Dense`` head (as ``training.models`` builds them).
    """

    def __init__(self, model):
        import keras

        from training.models.tta import is_tta_layer, views

        self.model = model
        self.views = views(model)  # rows per image inside the model (2 with flip TTA)
        self._is_tta = is_tta_layer
        self.head = _head(model)
        if not isinstance(self.head, keras.layers.Dense):
            raise GradCamError(f"Grad-CAM needs a Dense classification head; the last layer "
                               f"is {type(self.head).__name__} ({self.head.name!r}).")
        _, h, w, c = model.input_shape
        self.input_size, self.channels = (int(h), int(w)), int(c)
        self.backbone = next((layer for layer in model.layers if isinstance(layer, keras.Model)), None)
        self.layer_name = None
        if self.backbone is not None:
            self.method = GRADCAM
            self._build_nested(keras)
        else:
            convs = [layer for layer in model.layers if _is_spatial(layer)
                     and not isinstance(layer, keras.layers.InputLayer)
                     and "conv" in type(layer).__name__.lower()]
            if convs:
                self.method = GRADCAM
                self.layer_name = convs[-1].name
                self._two = keras.Model(model.inputs, [convs[-1].output, self.head.input])
            else:
                self.method = SALIENCY
                self._two = keras.Model(model.inputs, self.head.input)

    # -- graph ---------------------------------------------------------------------------
    def _build_nested(self, keras) -> None:
        bb = self.backbone
        spatial = [layer for layer in bb.layers if _is_spatial(layer)
                   and not isinstance(layer, keras.layers.InputLayer)]
        if not spatial:
            raise GradCamError(f"The backbone {bb.name!r} has no layer with a feature map.")
        self.layer_name = f"{bb.name}/{spatial[-1].name}"
        self._inner = keras.Model(bb.input, [bb.get_layer(spatial[-1].name).output, bb.output])
        order = [layer for layer in self.model.layers if not isinstance(layer, keras.layers.InputLayer)]
        self._before = order[:order.index(bb)]
        self._after = [layer for layer in order[order.index(bb) + 1:]
                       if layer is not self.head and not self._is_tta(layer)]
        self._check_replay()

    def _check_replay(self) -> None:
        """The replayed chain must give the model's own output, or it explains something
        else: compare on one deterministic image."""
        import tensorflow as tf

        h, w = self.input_size
        x = tf.constant(np.linspace(0, 255, h * w * self.channels, dtype=np.float32)
                        .reshape(1, h, w, self.channels))
        want = np.asarray(self.model(x, training=False), np.float32)
        _, feats = self._forward(x)
        z = self.logits(feats)
        got = tf.sigmoid(z[:, 1:]).numpy() if want.shape[-1] == 1 else tf.nn.softmax(z).numpy()
        got = got.reshape(self.views, -1, got.shape[-1]).mean(axis=0)
        if not np.allclose(got, want, atol=1e-3):
            raise GradCamError("Grad-CAM cannot follow this model's graph (it is not a chain of "
                               "layers around the backbone); heatmaps are not available for it.")

    def _forward(self, x):
        """``(feature map or None, head input)`` for a float batch, eager/traced TF."""
        import keras

        if self.backbone is None:
            out = self._two(x, training=False)
            return (out[0], out[1]) if self.method == GRADCAM else (None, out)
        for layer in self._before:
            if isinstance(layer, keras.layers.Concatenate):  # gray_to_rgb: [x, x, x]
                x = layer([x] * 3)
            else:
                x = layer(x, training=False)
        conv, x = self._inner(x, training=False)
        for layer in self._after:
            x = layer(x, training=False)
        return conv, x

    def logits(self, feats):
        """Pre-activation class scores ``(n, num_classes)`` from the head's input."""
        import tensorflow as tf

        kernel, bias = self.head.kernel, self.head.bias
        z = tf.matmul(tf.cast(feats, tf.float32), tf.cast(kernel, tf.float32))
        if bias is not None:
            z = z + tf.cast(bias, tf.float32)
        if z.shape[-1] == 1:  # a sigmoid head: class 1 scores +z, class 0 scores -z
            z = tf.concat([-z, z], axis=-1)
        return z

    # -- explain -------------------------------------------------------------------------
    def explain(self, image, class_index: int | None = None) -> dict:
        """A heatmap for one uint8 image (H, W[, C]) at the model's input size.

        Args:
            class_index: the class to explain; None: the predicted one.

        Returns:
            ``{heatmap: float32 (h, w) in 0..1 at the image's size, class_index,
            probabilities: softmax of the logits, method, layer}``.
        """
        import tensorflow as tf

        img = np.asarray(image)
        if img.ndim == 2:
            img = img[:, :, None]
        if tuple(img.shape[:2]) != self.input_size or img.shape[2] != self.channels:
            raise GradCamError(f"Grad-CAM expects an image of {self.input_size[0]}x{self.input_size[1]}"
                               f"x{self.channels}. Received: shape={img.shape}")
        x = tf.convert_to_tensor(img[None].astype(np.float32))
        with tf.GradientTape() as tape:
            tape.watch(x)
            conv, feats = self._forward(x)
            z = self.logits(feats)  # one row per view: the image (, its mirror)
            probs = tf.reduce_mean(tf.nn.softmax(z), axis=0).numpy()
            idx = int(np.argmax(probs)) if class_index is None else int(class_index)
            if not 0 <= idx < int(z.shape[-1]):
                raise GradCamError(f"class_index must lie in 0..{int(z.shape[-1]) - 1}. "
                                   f"Received: {class_index}")
            score = tf.reduce_sum(z[:, idx])
        if self.method == GRADCAM:
            grads = tf.cast(tape.gradient(score, conv), tf.float32)
            cam = 0.0
            for v in range(self.views):
                weights = tf.reduce_mean(grads[v], axis=(0, 1))
                view = tf.nn.relu(tf.reduce_sum(tf.cast(conv[v], tf.float32) * weights,
                                                axis=-1)).numpy()
                cam = cam + (view[:, ::-1] if v else view)  # the mirror's map, mirrored back
        else:
            grads = tape.gradient(score, x)
            cam = np.abs(grads[0].numpy()).max(axis=-1)
        return {"heatmap": _normalize_resize(cam, self.input_size), "class_index": idx,
                "probabilities": probs.astype(np.float32), "method": self.method,
                "layer": self.layer_name}


def _normalize_resize(cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    cam = np.nan_to_num(np.asarray(cam, np.float32))
    top = float(cam.max())
    cam = cam / top if top > 0 else np.zeros_like(cam)
    if cam.shape != size:
        cam = cv2.resize(cam, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    return np.clip(cam, 0.0, 1.0).astype(np.float32)


def colorize(heatmap: np.ndarray) -> np.ndarray:
    """A heatmap (h, w) in 0..1 as an RGB uint8 image (the jet colour map)."""
    import cv2

    u8 = (np.clip(heatmap, 0, 1) * 255).astype(np.uint8)
    return cv2.applyColorMap(u8, cv2.COLORMAP_JET)[:, :, ::-1].copy()


def blend(image: np.ndarray, heatmap: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """``image`` (H, W[, C] uint8, any size) with the coloured heatmap on top, RGB uint8."""
    import cv2

    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    img = img[:, :, :3]
    heat = colorize(cv2.resize(np.asarray(heatmap, np.float32), (img.shape[1], img.shape[0]),
                               interpolation=cv2.INTER_LINEAR))
    a = float(np.clip(opacity, 0.0, 1.0))
    return (img.astype(np.float32) * (1 - a) + heat.astype(np.float32) * a).round().astype(np.uint8)
