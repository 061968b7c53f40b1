"""Writing one exported file: SavedModel, ONNX or TFLite (LiteRT), all from one endpoint.

Why not plain ``model.export(path, format=...)``: export traces ``model.__call__`` with
no ``training`` argument, and Keras' stock augmentation layers default to
``training=True``, so an exported graph could flip and rotate every photo (keras#21346).
Every format here is traced from one ``tf.function`` that calls
``model(x, training=False)``, registered on a ``keras.export.ExportArchive``. TFLite
is converted from that archive's SavedModel (Keras' own LiteRT path does the same) with
builtin ops only: Keras enables Flex (``SELECT_TF_OPS``) ops by default, and a file that
needs them fails later on the device (google-ai-edge/LiteRT#6458), so it fails here.
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from training.export.signature import INPUT_NAME

log = logging.getLogger(__name__)

QUANTIZATIONS = ("float16", "int8")


class ConversionError(ValueError):
    """A converter refused the model (unsupported operation, for example)."""


def input_spec(model):
    import tensorflow as tf

    _, h, w, c = model.input_shape
    return tf.TensorSpec([None, int(h), int(w), int(c)], tf.float32, name=INPUT_NAME)


def inference_function(model):
    """The one traced endpoint every format is made from: inference mode, float32 NHWC."""
    import tensorflow as tf

    @tf.function(input_signature=[input_spec(model)])
    def serve(image):
        return model(image, training=False)

    return serve


def write_saved_model(model, path, serve=None) -> None:
    """A TF SavedModel whose ``serve`` signature runs the model in inference mode."""
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve or inference_function(model))
    archive.write_out(str(path), verbose=False)


def write_onnx(model, path, serve=None) -> None:
    """ONNX through tf2onnx's ``from_function`` (``from_keras`` is broken on Keras 3,
    onnx/tensorflow-onnx#2329), with Keras' numpy-2 patch for tf2onnx applied first."""
    import tf2onnx
    from keras.src.export.tf2onnx_lib import patch_tf2onnx

    patch_tf2onnx()  # what model.export(format="onnx") does first
    try:
        tf2onnx.convert.from_function(serve or inference_function(model),
                                      input_signature=[input_spec(model)], opset=None,
                                      output_path=str(path))
    except Exception as exc:  # noqa: BLE001  (tf2onnx raises many types)
        raise ConversionError(f"ONNX conversion failed: {type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:400] if str(exc) else ''}") from None


def write_tflite(model, path, quantization: str | None = None, representative=None,
                 saved_model_dir=None, serve=None) -> None:
    """A ``.tflite`` file with builtin ops only; optionally float16 or int8 weights.

    Args:
        quantization: None (float32), ``"float16"`` or ``"int8"`` (needs ``representative``:
            a callable returning an iterator of ``[float32 batch of 1]`` from training images).
        saved_model_dir: an already written SavedModel of the same endpoint (reused).
    """
    import tensorflow as tf

    if quantization not in (None, *QUANTIZATIONS):
        raise ValueError(f"quantization must be one of {QUANTIZATIONS} or None. "
                         f"Received: {quantization!r}")
    with tempfile.TemporaryDirectory(prefix="wb-tflite-") as tmp:
        if saved_model_dir is None:
            saved_model_dir = Path(tmp) / "saved_model"
            write_saved_model(model, saved_model_dir, serve)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
        ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantization == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif quantization == "int8":
            if representative is None:
                raise ValueError("int8 quantization needs a representative dataset")
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = representative
            # int8 kernels where they exist, float builtins elsewhere; input and output
            # stay float32 so the signature's contract holds for every variant.
            ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
        converter.target_spec.supported_ops = ops
        try:
            data = converter.convert()
        except Exception as exc:  # noqa: BLE001  (ConverterError and friends)
            text = str(exc)
            hint = (" The model uses an operation outside TFLite's builtin set; such a file "
                    "would need Flex ops, which fail on devices, so it is not written."
                    if "select" in text.lower() or "flex" in text.lower() else "")
            first = text.splitlines()[0][:400] if text else type(exc).__name__
            raise ConversionError(f"TFLite conversion failed: {first}.{hint}") from None
    Path(path).write_bytes(data)
