"""What a run folder's files must hold when they are read back: the schema checks.

A run folder may come from anywhere (shared storage, a colleague's zip), so what
``history.json``, ``live.json`` and ``evaluation.json`` say is checked before a chart, a
table or a progress bar sees it (issue 25): a wrong type, a NaN, a list of the wrong
length or an unknown newer ``schema_version`` gives a :class:`RunError` that names the file
and the field, never a crash in the window. ``run.json`` is checked by
``RunFolder.load`` itself. Pure Python; no TensorFlow, no NumPy.

The checks raise :class:`SchemaError`; ``training.runs.runfolder`` (which imports this
module) turns it into its ``RunError``.
"""
from __future__ import annotations

import math

LIVE_SCHEMA_VERSION = 1
MAX_TEXT = 2000          # a status line, a host name, a class name: never longer in a real run
MAX_MESSAGES = 200
MAX_CLASSES = 100_000


class SchemaError(ValueError):
    """A run folder's file holds something of the wrong type, size or version."""


def is_number(value) -> bool:
    """An int or a finite float (not a bool, not NaN or infinite)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) if isinstance(value, float) else abs(value) < 2 ** 63


def is_count(value) -> bool:
    return is_number(value) and isinstance(value, int) and value >= 0


def _text(value, limit: int = MAX_TEXT) -> bool:
    return isinstance(value, str) and len(value) <= limit


def _fail(where, field: str, value, expected: str):
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise SchemaError(f"{where}: {field} must be {expected}. Received: {shown}")


# -- history.json ------------------------------------------------------------------------
def clean_epoch(entry) -> dict | None:
    """One ``history.json`` entry with only the values a chart or log line can show: the
    epoch number (a positive int, required) and numbers, short text, booleans and None;
    None for an entry that is not an epoch."""
    if not isinstance(entry, dict) or not is_count(entry.get("epoch")) or entry["epoch"] < 1:
        return None
    out = {}
    for key, value in entry.items():
        if not _text(key, 100):
            continue
        if value is None or isinstance(value, bool) or is_number(value) or _text(value, 200):
            out[key] = value
    return out


# -- live.json ---------------------------------------------------------------------------
def check_live(data, where) -> dict:
    """``live.json`` (see ``training.runs.follow``) checked field by field.

    Returns:
        The dict with only the fields a follower shows.
    Raises:
        SchemaError: not an object, a newer schema version, or a field of the wrong type.
    """
    if not isinstance(data, dict):
        _fail(where, "the file", type(data).__name__, "a JSON object")
    version = data.get("schema_version", 1)
    if not is_count(version) or version < 1:
        _fail(where, "schema_version", version, "a positive integer")
    if version > LIVE_SCHEMA_VERSION:
        raise SchemaError(f"{where} was written by a newer version of the workbench (schema_version "
                       f"{version}; this version reads up to {LIVE_SCHEMA_VERSION}).")
    out = {"schema_version": version}
    for key, limit in (("status", MAX_TEXT), ("host", 255)):
        if data.get(key) is not None and not _text(data[key], limit):
            _fail(where, key, data[key], f"text of at most {limit} characters")
        out[key] = data.get(key)
    for key in ("pid", "updated"):
        if data.get(key) is not None and not is_number(data[key]):
            _fail(where, key, data[key], "a number")
        out[key] = data.get(key)
    messages = data.get("messages") or []
    if (not isinstance(messages, list) or len(messages) > MAX_MESSAGES
            or not all(_text(m) for m in messages)):
        _fail(where, "messages", messages, f"a list of at most {MAX_MESSAGES} lines of text")
    out["messages"] = messages
    progress = data.get("progress")
    if progress is not None:
        if (not isinstance(progress, dict) or not is_count(progress.get("done"))
                or not is_count(progress.get("total")) or not _text(progress.get("what", ""))):
            _fail(where, "progress", progress, "{done: count, total: count, what: text}")
        progress = {"done": progress["done"], "total": progress["total"],
                    "what": progress.get("what", "")}
    out["progress"] = progress
    for key in ("batch", "epoch"):
        value = data.get(key)
        if value is not None:
            value = clean_epoch(value) if key == "epoch" else _clean_batch(value, where)
            if value is None:
                _fail(where, key, data.get(key), "an epoch record with a positive epoch number")
        out[key] = value
    return out


def _clean_batch(batch, where) -> dict:
    if not isinstance(batch, dict):
        _fail(where, "batch", batch, "an object")
    for key in ("epoch", "epochs", "batch", "batches"):
        if key in batch and not is_count(batch[key]):
            _fail(where, f"batch.{key}", batch[key], "a count")
    if "phase" in batch and not _text(batch["phase"], 40):
        _fail(where, "batch.phase", batch["phase"], "a phase name")
    return {k: v for k, v in batch.items() if _text(k, 100) and (
        v is None or isinstance(v, bool) or is_number(v) or _text(v, 200))}


# -- evaluation.json ---------------------------------------------------------------------
def check_evaluation(result, where) -> dict:
    """``evaluation.json`` as the Results panel, export and health read it.

    Raises:
        SchemaError: naming the first field that is missing or of the wrong type or size.
    """
    if not isinstance(result, dict):
        _fail(where, "the file", type(result).__name__, "a JSON object")
    classes = result.get("classes")
    if (not isinstance(classes, list) or not 1 <= len(classes) <= MAX_CLASSES
            or not all(_text(c, 500) for c in classes)):
        _fail(where, "classes", classes, "a list of class names")
    n = len(classes)
    if not is_count(result.get("num_samples")):
        _fail(where, "num_samples", result.get("num_samples"), "a count")
    for key in ("loss", "accuracy", "balanced_accuracy", "test_loss", "test_accuracy"):
        if result.get(key) is not None and not is_number(result[key]):
            _fail(where, key, result[key], "a number")
    cm = result.get("confusion_matrix")
    if (not isinstance(cm, list) or len(cm) != n
            or not all(isinstance(r, list) and len(r) == n and all(map(is_count, r)) for r in cm)):
        _fail(where, "confusion_matrix", cm, f"{n} rows of {n} counts")
    per_class = result.get("per_class", [])
    if not isinstance(per_class, list) or not all(
            isinstance(r, dict) and _text(r.get("class"), 500)
            and all(is_number(r.get(k)) for k in ("precision", "recall", "f1", "support"))
            for r in per_class):
        _fail(where, "per_class", per_class, "a list of {class, precision, recall, f1, support}")
    for key in ("macro_avg", "weighted_avg"):
        value = result.get(key)
        if value is not None and not (isinstance(value, dict) and all(map(is_number, value.values()))):
            _fail(where, key, value, "an object of numbers")
    for key in ("predictions", "most_incorrect", "random_sample"):
        items = result.get(key, [])
        if not isinstance(items, list):
            _fail(where, key, items, "a list")
        for i, p in enumerate(items):
            _check_prediction(p, n, where, f"{key}[{i}]")
    for key in ("pr_curves", "warnings", "bad_files"):
        if result.get(key) is not None and not isinstance(result[key], list):
            _fail(where, key, result[key], "a list")
    for key in ("calibration", "unknown"):
        if result.get(key) is not None and not isinstance(result[key], dict):
            _fail(where, key, result[key], "an object")
    return result


def _check_prediction(p, n: int, where, field: str) -> None:
    if not isinstance(p, dict):
        _fail(where, field, p, "an object")
    if not is_count(p.get("row")):
        _fail(where, f"{field}.row", p.get("row"), "a count")
    if not isinstance(p.get("path"), str):
        _fail(where, f"{field}.path", p.get("path"), "a path")
    for key in ("true", "pred"):
        if not (is_count(p.get(key)) and p[key] < n):
            _fail(where, f"{field}.{key}", p.get(key), f"a class number below {n}")
    if p.get("confidence") is not None and not is_number(p["confidence"]):
        _fail(where, f"{field}.confidence", p["confidence"], "a number")
    probs = p.get("probabilities")
    if probs is not None and not (isinstance(probs, list) and len(probs) == n
                                  and all(map(is_number, probs))):
        _fail(where, f"{field}.probabilities", probs, f"{n} numbers")
