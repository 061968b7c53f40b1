"""Grad-CAM for the CNN template (top-level convolution), a nested MobileNetV2 backbone
(the two-output model inside the backbone's graph) and the MLP (input saliency)."""
import numpy as np
import pytest

from tests.imagegen import class_image
from tests.training.trainutil import tiny_spec, tiny_transfer_spec


def _model(spec, classes=3):
    from training.models import build_model

    return build_model(spec, classes)


def test_cnn_gradcam_matches_the_keras_example():
    import keras
    import tensorflow as tf

    from training.inference.gradcam import GRADCAM, GradCam, blend

    model = _model(tiny_spec("cnn", size=32))
    cam = GradCam(model)
    assert cam.method == GRADCAM and cam.layer_name.startswith("conv2d")
    img = class_image(1, 32)
    out = cam.explain(img, class_index=2)
    heat = out["heatmap"]
    assert heat.shape == (32, 32) and heat.dtype == np.float32
    assert np.isfinite(heat).all() and 0.0 <= heat.min() and heat.max() <= 1.0
    assert out["class_index"] == 2
    # The replayed logits give the model's own probabilities.
    np.testing.assert_allclose(out["probabilities"], model(img[None].astype("float32")).numpy()[0],
                               atol=1e-5)
    # Same map as keras.io's recipe (conv output and the model output, pre-softmax score).
    conv = model.get_layer(cam.layer_name)
    two = keras.Model(model.inputs, [conv.output, model.get_layer("predictions").input])
    x = tf.constant(img[None].astype("float32"))
    with tf.GradientTape() as tape:
        c, f = two(x)
        score = cam.logits(f)[0, 2]
    g = tape.gradient(score, c)
    ref = tf.nn.relu(tf.reduce_sum(c[0] * tf.reduce_mean(g, axis=(0, 1, 2)), -1)).numpy()
    if ref.max() > 0:
        import cv2
        ref = cv2.resize(ref / ref.max(), (32, 32), interpolation=cv2.INTER_LINEAR)
        np.testing.assert_allclose(heat, np.clip(ref, 0, 1), atol=1e-4)
    shown = blend(img, heat, 0.5)
    assert shown.shape == (32, 32, 3) and shown.dtype == np.uint8
    assert not np.array_equal(shown, img)  # the overlay changes the picture


def test_nested_mobilenet_v2_gradcam_inside_the_backbone():
    from training.inference.gradcam import GRADCAM, GradCam

    model = _model(tiny_transfer_spec())
    cam = GradCam(model)
    assert cam.method == GRADCAM and cam.backbone is not None
    assert cam.layer_name.split("/")[-1] == "out_relu"
    img = class_image(0, 32)
    out = cam.explain(img)
    assert out["heatmap"].shape == (32, 32) and np.isfinite(out["heatmap"]).all()
    np.testing.assert_allclose(out["probabilities"], model(img[None].astype("float32")).numpy()[0],
                               atol=1e-4)
    # A random MobileNetV2's features nearly vanish (all classes ~1/3): any class may win.
    assert 0 <= out["class_index"] < 3


def test_mlp_gets_input_saliency_and_bad_input_is_refused():
    from training.inference.gradcam import SALIENCY, GradCam, GradCamError

    model = _model(tiny_spec("mlp", size=16), classes=2)  # a sigmoid head
    cam = GradCam(model)
    assert cam.method == SALIENCY
    out = cam.explain(class_image(0, 16), class_index=0)
    assert out["heatmap"].shape == (16, 16) and out["heatmap"].max() == pytest.approx(1.0)
    with pytest.raises(GradCamError, match="16x16"):
        cam.explain(class_image(0, 8))
    with pytest.raises(GradCamError, match="class_index"):
        cam.explain(class_image(0, 16), class_index=5)
