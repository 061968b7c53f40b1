"""The "unknown" rule in an export: the same rule as the app, next to the exported model.

An exported ``.onnx`` / ``.tflite`` file outputs the model's own probabilities. To answer
"unknown" as the app does (``training.trust.unknown``: calibrated confidence, feature kNN
distance, thumbnail distance), the export folder also gets

- ``unknown.json`` and ``unknown_reference.npz``: copies of the run's rule and reference
  data (at most ``training.trust.unknown.MAX_REFERENCE`` normalised training feature rows, the
  64-number thumbnail mean and its 64x64 precision matrix: bounded whatever the dataset);
- ``features.onnx`` / ``features.tflite``: the model up to its head's input (the
  penultimate features the kNN check compares), written from the same inference-mode
  endpoint as the model and checked against the Keras features on the parity images.

``signature.json``'s ``unknown`` names these files (``Trust.signature_fields``), and
:func:`load_export_trust` gives the :class:`~training.export.predictor.ExportedPredictor`
the full rule; without them (an old export, a SavedModel, a quantized variant) the
confidence part of the rule still applies.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np

from training.runs.runfolder import UNKNOWN_JSON, UNKNOWN_REFERENCE_NPZ

log = logging.getLogger(__name__)

FEATURE_FILES = {"onnx": "features.onnx", "tflite": "features.tflite"}
# Features agree to float32 rounding in practice (~1e-6); a file off by more than this
# share of the features' scale would move kNN distances, so it is not shipped.
FEATURE_TOLERANCE = 1e-3


def write_trust_files(run_dir, model, names, tmp: Path, parity_x, events, open_runner) -> dict:
    """Copy the run's rule and reference into ``tmp`` and write the feature files.

    Args:
        names: the (unquantized) formats being exported.
        parity_x: the parity images (uint8 NHWC) the feature files are checked on.
        open_runner: ``training.export.predictor.open_runner`` (passed in: that module
            uses this one, so this one must not import it).

    Returns:
        ``{"rule_file", "reference_file", "features_files": {format: file},
        "features_parity": {format: max_abs_diff}}`` for the signature; empty when
        the run has no unknown rule.
    """
    from training.features.embeddings import penultimate_model
    from training.export.formats import inference_function, write_onnx, write_tflite

    src = Path(run_dir)
    if not (src / UNKNOWN_JSON).is_file() or not (src / UNKNOWN_REFERENCE_NPZ).is_file():
        return {}
    shutil.copyfile(src / UNKNOWN_JSON, tmp / UNKNOWN_JSON)
    shutil.copyfile(src / UNKNOWN_REFERENCE_NPZ, tmp / UNKNOWN_REFERENCE_NPZ)
    out = {"rule_file": UNKNOWN_JSON, "reference_file": UNKNOWN_REFERENCE_NPZ,
           "features_files": {}, "features_parity": {}}
    wanted = [n for n in names if n in FEATURE_FILES]
    if not wanted:
        return out
    try:
        feats_model = penultimate_model(model)
    except ValueError as exc:
        log.warning("No feature file in the export: %s", exc)
        return out
    serve = inference_function(feats_model)
    reference = _run(_flat(lambda b: serve(b).numpy()), parity_x, events)
    scale = max(float(np.abs(reference).max()), 1e-6)
    for name in wanted:
        events.check_stop()
        events.on_status(f"Exporting the feature model ({name}) for the unknown check…")
        path = tmp / FEATURE_FILES[name]
        (write_onnx if name == "onnx" else write_tflite)(feats_model, path, serve=serve)
        got = _run(_flat(open_runner(path, name)), parity_x, events)
        diff = float(np.abs(got - reference).max()) if len(got) else 0.0
        if diff > FEATURE_TOLERANCE * scale:
            log.warning("The %s feature model differs from Keras by %.3g (scale %.3g); not shipped",
                        name, diff, scale)
            path.unlink()
            continue
        out["features_files"][name] = FEATURE_FILES[name]
        out["features_parity"][name] = diff
    return out


def _run(fn, x_uint8, events, batch: int = 32) -> np.ndarray:
    outs = []
    for start in range(0, len(x_uint8), batch):
        events.check_stop()
        outs.append(fn(np.asarray(x_uint8[start:start + batch], np.float32)))
        events.on_progress(min(start + batch, len(x_uint8)), len(x_uint8), "parity: features")
    return np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)


def _flat(runner):
    """A runner whose (n, ...) output is flattened to (n, dim) float32."""
    def call(batch):
        f = np.asarray(runner(np.asarray(batch, np.float32)), dtype=np.float32)
        return f.reshape(len(f), -1)
    return call


class ExportedEmbedder:
    """Features and probabilities of a batch from two exported files (no TensorFlow)."""

    def __init__(self, prob_runner, feature_runner):
        self.prob_runner, self.feature_runner = prob_runner, _flat(feature_runner)

    def embed_batch(self, images, with_probabilities: bool = False):
        from training.features.modelcall import to_probabilities

        x = np.asarray(images, dtype=np.float32)
        feats = self.feature_runner(x)
        if not with_probabilities:
            return feats
        return feats, to_probabilities(self.prob_runner(x))


def load_export_trust(model_path, signature: dict, fmt: str):
    """``(Trust, feature file path or None)`` for an exported model, from its folder.

    The full rule when the export carries ``unknown.json`` + ``unknown_reference.npz``
    (and, for the kNN check, the feature file of this format); else the part in
    ``signature.json`` (temperature and confidence threshold).
    """
    from training.trust.rule import Trust

    folder = Path(model_path).parent  # beside the file or the SavedModel folder, as signature.json
    info = signature.get("unknown") or {}
    files = info.get("files") or {}
    if not (folder / UNKNOWN_JSON).is_file() or files.get("rule") != UNKNOWN_JSON:
        return Trust.from_signature(signature), None
    trust = Trust.load(folder)  # reads unknown.json, the reference and calibration if present
    trust.temperature = Trust.from_signature(signature).temperature
    feature_file = (files.get("features") or {}).get(fmt)
    if not feature_file or not (folder / feature_file).is_file():
        trust.reference = None  # no features here: the kNN check is skipped
        return trust, None
    return trust, folder / feature_file
