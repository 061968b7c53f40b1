"""``signature.json``: the input/output contract written next to every exported model.

An exported file alone does not say how to feed it; peer tools' exports disagree with the
app mostly because the caller prepared the pixels differently (Lobe's padding against
cropping, lobe/lobe.NET#6). The signature says it all: class names in output order, the
input size, colour mode, value range (0-255, no normalisation: that is in the graph),
layout and dtype, how images are resized, which run and spec made the file, its test
accuracy and the parity figures measured when it was written.

No TensorFlow here: the exported-model runtime reads signatures on machines without it.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from training.safefiles import check_schema
from training.models.spec import COLOR_MODES
from training.runs import runfolder
from training.runs.runfolder import SIGNATURE_JSON

SIGNATURE_VERSION = 1
INPUT_NAME = "image"
# What training.data.decode does to every image, stated for callers outside the app.
RESIZE_POLICY = {
    "method": "stretch",
    "interpolation": "bilinear",
    "keep_aspect_ratio": False,
    "note": "Decode (EXIF orientation applied), convert to the colour mode (grayscale: "
            "ITU-R 601 luma), stretch to height x width with bilinear interpolation; no crop, "
            "no padding. Feed raw 0-255 pixel values: rescaling is inside the model.",
}


class SignatureError(ValueError):
    """A ``signature.json`` is missing, malformed or from a newer version."""


def spec_hash(spec: dict | None) -> str | None:
    """SHA-256 of the model spec as canonical JSON (sorted keys): same spec, same hash."""
    if spec is None:
        return None
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_signature(*, classes, input_size, color_mode: str, run_id: str | None,
                    spec: dict | None, test_accuracy: float | None, output_units: int,
                    artifacts: list[dict], parity: dict, extra: dict | None = None) -> dict:
    """The whole ``signature.json`` content, built in this one place.

    Args:
        classes: class names in output order.
        input_size: ``(height, width)``.
        color_mode: ``"grayscale"`` (1 channel) or ``"rgb"`` (3).
        run_id: the run folder's name.
        spec: the run's ``spec.json`` content (hashed, not copied).
        test_accuracy: the Keras model's test accuracy (run.json), or None.
        output_units: the model's last dimension (1 = one sigmoid unit, binary).
        artifacts: ``[{format, file, bytes, quantization}]`` relative to the signature.
        parity: ``{format_key: parity figures}`` (see ``training.export.parity``).
        extra: more top-level fields (calibration, "unknown" rule: added by their owners).
    """
    h, w = (int(v) for v in input_size)
    channels = 1 if color_mode == "grayscale" else 3
    signature = {
        "schema_version": SIGNATURE_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "run_id": run_id,
        "spec_hash": spec_hash(spec),
        "classes": [str(c) for c in classes],
        "input": {"name": INPUT_NAME, "height": h, "width": w, "channels": channels,
                  "colour_mode": color_mode, "value_range": [0, 255], "layout": "NHWC",
                  "dtype": "float32", "shape": [None, h, w, channels]},
        "output": {"kind": "probabilities",
                   "activation": "sigmoid" if int(output_units) == 1 else "softmax",
                   "units": int(output_units),
                   "note": "one sigmoid unit is P(classes[1]); otherwise one probability per "
                           "class, in the order of 'classes'"},
        "resize_policy": dict(RESIZE_POLICY),
        "test_accuracy": test_accuracy,
        "artifacts": list(artifacts),
        "parity": dict(parity),
    }
    if extra:
        signature.update(extra)
    return signature


def write_signature(folder, signature: dict) -> Path:
    path = Path(folder) / SIGNATURE_JSON
    runfolder.write_json(path, signature)
    return path


def find_signature(model_path) -> Path:
    """The ``signature.json`` of an exported file or SavedModel folder.

    Looked for beside the file, and for a SavedModel folder inside it, then beside it.
    """
    p = Path(model_path)
    candidates = [p / SIGNATURE_JSON, p.parent / SIGNATURE_JSON] if p.is_dir() else \
        [p.parent / SIGNATURE_JSON]
    for c in candidates:
        if c.is_file():
            return c
    raise SignatureError(f"No {SIGNATURE_JSON} found for {p} (looked in "
                         f"{', '.join(str(c.parent) for c in candidates)}). An exported model "
                         "needs the signature written with it: export the run again, or copy "
                         f"its {SIGNATURE_JSON} next to the file.")


def load_signature(model_path) -> dict:
    """Read and check the signature of an exported model (see :func:`find_signature`)."""
    path = find_signature(model_path)
    try:
        data = runfolder.read_json(path)
    except runfolder.RunError as exc:
        raise SignatureError(str(exc)) from None
    if not isinstance(data, dict):
        raise SignatureError(f"{path} must hold a JSON object. Received: {type(data).__name__}")
    check_schema(data, "exported model's signature", SIGNATURE_VERSION, where=path,
                 error=SignatureError)
    inp, classes = data.get("input"), data.get("classes")
    if not isinstance(classes, list) or not classes:
        raise SignatureError(f"{path}: 'classes' must be a non-empty list. Received: {classes!r}")
    try:
        h, w, c = int(inp["height"]), int(inp["width"]), int(inp["channels"])
        mode = inp["colour_mode"]
    except (TypeError, KeyError, ValueError):
        raise SignatureError(f"{path}: 'input' must give height, width, channels and colour_mode. "
                             f"Received: {inp!r}") from None
    if mode not in COLOR_MODES or c != (1 if mode == "grayscale" else 3) or min(h, w) < 1:
        raise SignatureError(f"{path}: inconsistent input description. Received: {inp!r}")
    data["path"] = str(path)
    return data
