"""``export(run, formats, out_dir, events)``: ship a run's model as files proven to agree.

Writes a TF SavedModel, ONNX and/or TFLite (optionally a float16 or int8 variant too)
with a ``signature.json`` (see :mod:`training.export.signature`), after running every file
through the parity gate (:mod:`training.export.parity`). Everything is written into a
temporary folder beside the destination and renamed into place only when every file
passed: a failure, a failed gate or a cancel leaves nothing half-written, and an
existing destination is only replaced with ``force``.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np


from training.events import Events, Stopped
from training.export.predictor import (
    FORMATS,
    MissingPackageError,
    open_runner,
    require,
)
from training.runs.runfolder import SIGNATURE_JSON, RunFolder
from training.export.signature import build_signature, write_signature

log = logging.getLogger(__name__)

FORMAT_NAMES = ("saved_model", "onnx", "tflite")
FILE_NAMES = {"saved_model": "saved_model", "onnx": "model.onnx", "tflite": "model.tflite"}
# What writing each format needs besides TensorFlow (checked before any work starts).
WRITE_PACKAGES = {"onnx": (("tf2onnx", "onnx", "onnxruntime"), "tf2onnx onnx onnxruntime"),
                  "tflite": (("ai_edge_litert",), "ai-edge-litert")}


class ExportError(ValueError):
    """Bad export input: no model, a refused destination, a missing package, a converter
    that refused the model."""


class ParityError(ExportError):
    """An exported file disagreed with the Keras model; ``result`` holds every figure."""

    def __init__(self, message: str, result: dict):
        super().__init__(message)
        self.result = result


def parse_formats(formats) -> list[str]:
    """``"saved_model,onnx"`` or a list -> checked, de-duplicated format names."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    out = []
    for f in (str(i).strip().lower() for i in items):
        f = {"savedmodel": "saved_model", "tf_saved_model": "saved_model", "litert": "tflite"}.get(f, f)
        if f not in FORMAT_NAMES:
            raise ExportError(f"Unknown export format {f!r}; choose from {', '.join(FORMAT_NAMES)}. "
                              f"Received: {formats!r}")
        if f not in out:
            out.append(f)
    if not out:
        raise ExportError(f"No export format given; choose from {', '.join(FORMAT_NAMES)}.")
    return out


def check_destination(out_dir: Path, force: bool) -> None:
    """Refuse an existing destination without ``force``, and a read-only place."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"The destination {out_dir} is a file, not a folder; choose a folder.")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise ExportError(f"The destination {out_dir} already exists and is not empty; choose "
                          "another folder, or replace it (--force, or confirm in the app).")
    parent = out_dir.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"Cannot write to {parent}: the folder is read-only for this user. "
                          "Choose another destination.")


def _folder_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _representative(train_x: np.ndarray):
    def gen():
        for img in train_x:
            yield [img[None].astype(np.float32)]
    return gen


def export(run, formats=("saved_model", "onnx", "tflite"), out_dir=None, events: Events | None = None,
           quantize: str | None = None, force: bool = False, which: str = "final") -> dict:
    """Export a run's model and check every file against the Keras model.

    Args:
        run: the run folder.
        formats: names from ``FORMAT_NAMES`` (list or comma-separated string).
        out_dir: the destination folder (default ``RUN/exports``).
        events: progress, status and stop requests (a stop cancels; nothing is written).
        quantize: None, ``"float16"`` or ``"int8"``: also write that TFLite variant.
        force: replace an existing, non-empty destination.
        which: the run's ``"final"`` or ``"best"`` model.

    Returns:
        ``{run_dir, out_dir, signature, parity_source, artifacts: [{format, quantization,
        path, bytes, seconds, max_abs_diff, mean_abs_diff, top1_agreement, ok, ...}], ok}``.

    Raises:
        ExportError: bad input (see the class); ParityError when a file failed the gate.
        RunError, UnsafeModelError: the run or its model cannot be loaded safely.
        Stopped: cancelled.
    """
    from training.inference.predict import Predictor

    events = events or Events()
    run_dir = Path(run)
    info = RunFolder(run_dir).load()
    names = parse_formats(formats)
    if quantize not in (None, "", "none", "float16", "int8"):
        raise ExportError(f"--quantize must be float16 or int8. Received: {quantize!r}")
    quantize = quantize if quantize in ("float16", "int8") else None
    if quantize and "tflite" not in names:
        raise ExportError(f"Quantization ({quantize}) applies to TFLite only; add tflite to the formats.")
    for name in names:
        if name in WRITE_PACKAGES:
            mods, pip = WRITE_PACKAGES[name]
            try:
                require(mods, pip, f"{name} export")
            except MissingPackageError as exc:
                raise ExportError(str(exc)) from None
    folder = RunFolder(run_dir)
    if not any(m.is_file() for m in (folder.model_final, folder.model_best)):
        raise ExportError(f"The run {run_dir} has no saved model ({folder.model_final.name} or "
                          f"{folder.model_best.name}): it was {info['status']} before its first "
                          "epoch ended. Resume or retrain it, then export.")
    out = Path(out_dir) if out_dir else folder.exports_dir
    check_destination(out, force)

    events.on_status("Loading the model (safe mode)…")
    predictor = Predictor(run_dir, which=which)
    model, classes = predictor.model, predictor.classes
    events.check_stop()
    events.on_status("Reading the images for the parity check…")
    from training.export.parity import load_parity_data, run_batches

    data = load_parity_data(run_dir, predictor.input_size, predictor.color_mode, events)
    reference = run_batches(predictor._run, data.x, events, "parity: Keras")

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".{out.name}.partial-{os.getpid()}-{int(time.time() * 1000)}"
        tmp.mkdir()
    except PermissionError as exc:
        raise ExportError(f"Cannot write to {out.parent}: {exc.strerror or exc}. Choose another "
                          "destination.") from None
    try:
        artifacts = _write_all(model, names, quantize, tmp, data, reference, events)
        ok = all(a["ok"] for a in artifacts)
        trust_files = {}
        if ok:  # the unknown rule's files and feature models (training.export.trust)
            from training.export.trust import write_trust_files

            trust_files = write_trust_files(run_dir, model, names, tmp, data.x, events, open_runner)
        for a in artifacts:
            a["path"] = str(out / a.pop("file"))
        result = {"run_dir": str(run_dir), "out_dir": str(out), "signature": str(out / SIGNATURE_JSON),
                  "parity_source": data.source, "artifacts": artifacts, "ok": ok}
        if not ok:
            bad = "; ".join(f"{a['format']}{'/' + a['quantization'] if a['quantization'] else ''}: "
                            f"{a.get('reason')}" for a in artifacts if not a["ok"])
            raise ParityError(f"Export not written: {bad}", result)
        spec = folder.read_spec() if folder.spec_json.is_file() else None
        signature = build_signature(
            classes=classes, input_size=predictor.input_size, color_mode=predictor.color_mode,
            run_id=run_dir.name, spec=spec, test_accuracy=info.get("test_accuracy"),
            output_units=int(model.output_shape[-1]),
            artifacts=[{k: a[k] for k in ("format", "quantization", "bytes")}
                       | {"file": Path(a["path"]).name} for a in artifacts],
            parity={_key(a): {k: v for k, v in a.items() if k not in ("path", "format", "quantization")}
                    | {"images_source": data.source} for a in artifacts},
            extra=predictor.trust.signature_fields(trust_files))  # temperature + unknown rule
        write_signature(tmp, signature)
        _install(tmp, out)
    except BaseException:  # a failed gate, a converter error, a cancel: leave nothing behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    events.on_status(f"Exported {len(artifacts)} file(s) to {out}")
    return result


def _key(a: dict) -> str:
    return a["format"] + (f"_{a['quantization']}" if a["quantization"] else "")


def _write_all(model, names, quantize, tmp: Path, data, reference, events) -> list[dict]:
    from training.export.formats import (
        inference_function,
        write_onnx,
        write_saved_model,
        write_tflite,
    )
    from training.export.parity import figures, run_batches

    serve = inference_function(model)
    jobs = [(n, None) for n in names] + ([("tflite", quantize)] if quantize else [])
    artifacts = []
    for step, (name, quant) in enumerate(jobs):
        events.check_stop()
        label = name + (f" ({quant})" if quant else "")
        events.on_status(f"Exporting {label} ({step + 1}/{len(jobs)})…")
        events.on_progress(step, len(jobs), "exporting")
        file = FILE_NAMES[name] if not quant else f"model_{quant}.tflite"
        path = tmp / file
        t = time.perf_counter()
        try:
            if name == "saved_model":
                write_saved_model(model, path, serve)
            elif name == "onnx":
                write_onnx(model, path, serve)
            else:
                write_tflite(model, path, quant, _representative(data.train_x),
                             saved_model_dir=tmp / FILE_NAMES["saved_model"]
                             if (tmp / FILE_NAMES["saved_model"]).is_dir() else None, serve=serve)
        except ValueError as exc:  # ConversionError and bad arguments: the user's to fix
            raise ExportError(str(exc)) from None
        seconds = time.perf_counter() - t
        events.check_stop()
        events.on_status(f"Checking {label} against the Keras model…")
        runner = open_runner(path, name)
        probs = run_batches(runner, data.x, events, f"parity: {label}")
        fig = figures(reference, probs, data.y, quantized=quant is not None)
        artifacts.append({"format": name, "quantization": quant, "file": file,
                          "bytes": _folder_bytes(path), "seconds": round(seconds, 3), **fig})
        log.info("Exported %s in %.1fs: %s", label, seconds, fig)
    events.on_progress(len(jobs), len(jobs), "exporting")
    return artifacts


def _install(tmp: Path, out: Path) -> None:
    """Rename the finished folder into place (replacing an old one only at the very end)."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}-{int(time.time() * 1000)}"
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except OSError:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


__all__ = [
    "FORMATS",
    "FORMAT_NAMES",
    "ExportError",
    "ParityError",
    "Stopped",
    "export",
    "parse_formats",
]
