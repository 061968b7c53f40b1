"""Running exported models: ONNX with onnxruntime, TFLite with ai-edge-litert, SavedModel.

The ONNX and TFLite paths never import TensorFlow or Keras, so a photo can be classified
on a machine that only has onnxruntime or ai-edge-litert (a test checks ``sys.modules``).
The same runners serve the export's parity gate, so what was checked is what is run.

Images go through the Predictor's own pipeline (``training.data.decode_image`` and
``Predictor._prepare``); the exported graph holds the rescaling, so it gets raw 0-255
float32 NHWC pixels, as its ``signature.json`` says.
"""
from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np

from training.runs import runfolder
from training.inference.predict import Predictor, to_probabilities
from training.export.signature import load_signature

log = logging.getLogger(__name__)

# format key -> (file suffix, packages it needs to run, pip names)
FORMATS = {
    "saved_model": ("", ("tensorflow",), "tensorflow"),
    "onnx": (".onnx", ("onnxruntime",), "onnxruntime"),
    "tflite": (".tflite", ("ai_edge_litert",), "ai-edge-litert"),
}


class MissingPackageError(ValueError):
    """An optional package needed for one export format is not installed."""


def require(modules, pip_names: str, what: str) -> None:
    """Raise :class:`MissingPackageError` naming the pip package when a module is missing."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingPackageError(f"{what} needs the Python package(s) {', '.join(missing)}, "
                                  f"which are not installed. Install them with: "
                                  f"pip install {pip_names}")


def detect_format(path) -> str | None:
    """``"onnx"``, ``"tflite"``, ``"saved_model"`` (a folder with saved_model.pb) or None."""
    p = Path(path)
    if p.is_dir():
        return "saved_model" if (p / "saved_model.pb").is_file() else None
    suffix = p.suffix.lower()
    return {".onnx": "onnx", ".tflite": "tflite"}.get(suffix)


class OnnxRunner:
    """An onnxruntime session on the CPU: ``runner(batch float32 NHWC) -> raw outputs``."""

    def __init__(self, path):
        require(("onnxruntime",), "onnxruntime", "Running an ONNX model")
        import onnxruntime as ort

        try:
            self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001  (onnxruntime raises its own types)
            raise runfolder.RunError(f"Could not load the ONNX model {path}: {exc}") from None
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(batch, np.float32)})[0]


class LiteRTRunner:
    """An ai-edge-litert interpreter; the batch dimension is resized to each batch."""

    def __init__(self, path, num_threads: int | None = None):
        require(("ai_edge_litert",), "ai-edge-litert", "Running a TFLite model")
        from ai_edge_litert.interpreter import Interpreter

        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        except Exception as exc:  # noqa: BLE001  (LiteRT raises ValueError/RuntimeError)
            raise runfolder.RunError(f"Could not load the TFLite model {path}: {exc}") from None
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self._batch = None

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, np.float32)
        it = self.interpreter
        if self._batch != len(batch):
            it.resize_tensor_input(self.input["index"], list(batch.shape))
            it.allocate_tensors()
            self._batch = len(batch)
        it.set_tensor(self.input["index"], batch)
        it.invoke()
        return np.array(it.get_tensor(self.output["index"]))


class SavedModelRunner:
    """``tf.saved_model.load(path).serve``: needs TensorFlow (imported here, lazily)."""

    def __init__(self, path):
        import tensorflow as tf

        try:
            # Keep the loaded object: ``serve`` alone does not keep its variables alive.
            self.loaded = tf.saved_model.load(str(path))
            self.fn = self.loaded.serve
        except Exception as exc:  # noqa: BLE001
            raise runfolder.RunError(f"Could not load the SavedModel {path}: {exc}") from None
        self._tf = tf

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.fn(self._tf.constant(np.asarray(batch, np.float32))).numpy()


def open_runner(path, fmt: str | None = None):
    """The runner for an exported file or SavedModel folder."""
    fmt = fmt or detect_format(path)
    if fmt == "onnx":
        return OnnxRunner(path)
    if fmt == "tflite":
        return LiteRTRunner(path)
    if fmt == "saved_model":
        return SavedModelRunner(path)
    raise runfolder.RunError(f"Not an exported model: {path} (expected a .onnx or .tflite file, or a "
                        "SavedModel folder holding saved_model.pb)")


class ExportedPredictor(Predictor):
    """A :class:`Predictor` over an exported model, described by its ``signature.json``.

    Args:
        path: a ``.onnx`` or ``.tflite`` file, or a SavedModel folder.

    Raises:
        SignatureError: no or a malformed ``signature.json`` beside it.
        MissingPackageError: the runtime for its format is not installed.
        RunError: the file cannot be loaded.
    """

    def __init__(self, path, which: str = "final"):  # which: ignored, there is one model
        path = Path(path)
        if not path.exists():
            raise runfolder.RunError(f"Exported model not found: {path}")
        self.format = detect_format(path)
        if self.format is None:
            raise runfolder.RunError(f"Not an exported model: {path}")
        self.signature = load_signature(path)
        inp = self.signature["input"]
        self.run_dir = str(Path(self.signature["path"]).parent)
        self.model_path = str(path)
        self.model = None  # no Keras model: see runner
        self.input_size = (int(inp["height"]), int(inp["width"]))
        self.color_mode = inp["colour_mode"]
        self.classes = [str(c) for c in self.signature["classes"]]
        self.runner = open_runner(path, self.format)
        from training.export.trust import ExportedEmbedder, load_export_trust

        # Calibration and the unknown rule: the whole rule when the export carries its
        # files (training.export.trust), else the confidence part in the signature.
        self.trust, feature_file = load_export_trust(path, self.signature, self.format)
        self.coverage, self._embedder = None, None
        if feature_file is not None:
            self._embedder = ExportedEmbedder(self.runner, open_runner(feature_file, self.format))
        log.info("Loaded exported %s model %s (%d classes)", self.format, path, len(self.classes))

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return to_probabilities(self.runner(np.asarray(batch, np.float32)))


def open_predictor(path, which: str = "final") -> Predictor:
    """A :class:`Predictor` for a run folder or ``.keras`` file, or an exported ``.onnx`` /
    ``.tflite`` file or SavedModel folder (then read with its ``signature.json``, and for
    ONNX and TFLite without importing TensorFlow)."""
    if detect_format(path) is not None:
        return ExportedPredictor(path)
    return Predictor(path, which=which)
