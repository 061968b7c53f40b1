"""What a run folder's files must hold when they are read back: the schema checks.

A run folder may come from anywhere (shared storage, a colleague's zip), so what
``history.json``, ``live.json`` and ``evaluation.json`` say is checked before a chart, a
table or a progress bar sees it (issue 25): a wrong type, a NaN, a list of the wrong
length or an unknown newer ``schema_version`` gives a :class:`RunError` that names the file
and the field, never a crash in the window. ``run.json`` is checked here too
(``check_run_record``, for ``RunFolder.load``). Pure Python; no TensorFlow, no NumPy.

The checks raise :class:`SchemaError`; ``training.runs.runfolder`` (which imports this
module) turns it into its ``RunError``.
"""
from __future__ import annotations

import math

from training.runs.files import SCHEMA_VERSION, STATUSES, shown
from training.safefiles import check_schema

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
    raise SchemaError(f"{where}: {field} must be {expected}. Received: {shown(value)}")


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


def check_run_record(data, where) -> None:
    """``run.json`` as ``RunFolder.load`` reads it: a JSON object of a known schema version
    and status, with the fields every listing and resume relies on of the right types.
    Raises :class:`SchemaError` naming the file and the field."""
    if not isinstance(data, dict):
        raise SchemaError(f"{where} must hold a JSON object. Received: {type(data).__name__}")
    check_schema(data, "run record", SCHEMA_VERSION, where=where, error=SchemaError)
    if data.get("status") not in STATUSES:
        raise SchemaError(f"{where} has an unknown status. Received: "
                          f"status={shown(data.get('status'))}")
    expected = {"model": str, "started": (int, float), "epochs_done": int}
    for key, types in expected.items():
        if key not in data or isinstance(data[key], bool) or not isinstance(data[key], types):
            raise SchemaError(f"{where}: field {key!r} is missing or has the wrong type. "
                              f"Received: {key}={shown(data.get(key))}")
    if len(data["model"]) > 500 or data["epochs_done"] < 0:
        raise SchemaError(f"{where}: model must be a name and epochs_done a count. Received: "
                          f"model={shown(data['model'])}, epochs_done={data['epochs_done']}")
    for key in ("test_accuracy", "test_loss", "best_val_accuracy", "finished"):
        value = data.get(key)
        if value is not None and not is_number(value):
            raise SchemaError(f"{where}: field {key!r} must be a number. Received: "
                              f"{key}={shown(value)}")
    # Who wrote it: the pid goes to os.kill(pid, 0) (liveness), so it must be a pid.
    pid, host = data.get("pid"), data.get("host")
    if (pid is not None and not (is_count(pid) and pid < 2 ** 31)) or (
            host is not None and not (isinstance(host, str) and len(host) <= 255)):
        raise SchemaError(f"{where}: pid must be a process id and host a host name. Received: "
                          f"pid={shown(pid)}, host={shown(host)}")


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
    version = check_schema(data, "live progress", LIVE_SCHEMA_VERSION, where=where,
                           error=SchemaError, required=False)
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
    for key in ("warnings", "bad_files"):
        if result.get(key) is not None and not isinstance(result[key], list):
            _fail(where, key, result[key], "a list")
    _check_trust(result, where)
    return result


def _plain(value, depth: int = 2) -> bool:
    """A number, short text, bool or None, or (``depth`` levels down) a list or an object
    of such values: what a summary table may show without meeting a foreign type."""
    if value is None or isinstance(value, bool) or is_number(value) or _text(value, 500):
        return True
    if depth <= 0:
        return False
    if isinstance(value, list):
        return all(_plain(v, depth - 1) for v in value)
    if isinstance(value, dict):
        return all(_text(k, 100) and _plain(v, depth - 1) for k, v in value.items())
    return False


def _numbers(value) -> bool:
    return isinstance(value, list) and all(map(is_number, value))


def _check_trust(result: dict, where) -> None:
    """The calibration, unknown-answer and precision-recall parts the Results panel's
    header, tables and charts read (``training.trust``)."""
    cal = result.get("calibration")
    if cal is not None:
        if not isinstance(cal, dict) or not _plain(cal, 3):
            _fail(where, "calibration", cal, "an object of numbers, text and lists")
        for key in ("temperature", "ece_before", "ece_after", "nll_before", "nll_after"):
            if cal.get(key) is not None and not is_number(cal[key]):
                _fail(where, f"calibration.{key}", cal[key], "a number")
        if cal.get("validation") is not None and not isinstance(cal["validation"], dict):
            _fail(where, "calibration.validation", cal["validation"], "an object")
        for key in ("reliability_before", "reliability_after"):
            bins = cal.get(key)
            if bins is not None and not (isinstance(bins, list) and all(
                    isinstance(b, dict) and all(v is None or is_number(v) for v in b.values())
                    for b in bins)):
                _fail(where, f"calibration.{key}", bins, "a list of bins of numbers")
    unknown = result.get("unknown")
    if unknown is not None:
        if not isinstance(unknown, dict) or not _plain({k: v for k, v in unknown.items()
                                                        if k != "reasons"}, 3):
            _fail(where, "unknown", unknown, "an object of numbers, text and lists")
        for key in ("unknown_rate", "accuracy_answered", "coverage"):
            if unknown.get(key) is not None and not is_number(unknown[key]):
                _fail(where, f"unknown.{key}", unknown[key], "a number")
        if unknown.get("num_samples") is not None and not is_count(unknown["num_samples"]):
            _fail(where, "unknown.num_samples", unknown["num_samples"], "a count")
        by_reason = unknown.get("by_reason")
        if by_reason is not None and not (isinstance(by_reason, dict)
                                          and all(map(is_count, by_reason.values()))):
            _fail(where, "unknown.by_reason", by_reason, "an object of counts")
    curves = result.get("pr_curves")
    if curves is not None:
        if not isinstance(curves, list) or not all(
                isinstance(c, dict) and _text(c.get("class"), 500)
                and all(_numbers(c.get(k, [])) for k in ("precision", "recall", "thresholds"))
                and (c.get("average_precision") is None or is_number(c["average_precision"]))
                for c in curves):
            _fail(where, "pr_curves", curves, "a list of {class, precision, recall, "
                                              "thresholds, average_precision}")


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


def checkpoint_problem(checkpoint: dict) -> str | None:
    """What is wrong with run.json's ``checkpoint`` (resume reads it), or None."""
    for key in ("epoch", "wait"):
        if key in checkpoint and not is_count(checkpoint[key]):
            return f"{key} must be a count. Received: {shown(checkpoint[key])}"
    for key in ("best_loss", "best_epoch"):
        if checkpoint.get(key) is not None and not is_number(checkpoint[key]):
            return f"{key} must be a number. Received: {shown(checkpoint[key])}"
    if not isinstance(checkpoint.get("phase", "train"), str):
        return f"phase must be a name. Received: {shown(checkpoint.get('phase'))}"
    return None
