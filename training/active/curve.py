"""The estimated-accuracy curve of a dataset's labelling, kept between sessions.

One small JSON file per dataset in the app's data folder (never in the dataset: a shared
or read-only folder stays untouched), keyed by the dataset's path, with a schema version.
Each point is one round's ``RoundResult.point()``: ``labels``, ``trained_on``,
``held_back``, ``accuracy``.
"""
from __future__ import annotations

import hashlib
import logging
import os

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MAX_POINTS = 500        # a curve longer than this keeps its latest points
_MAX_BYTES = 1 << 20
_KEYS = ("labels", "trained_on", "held_back", "accuracy")


def curve_path(root: str) -> str:
    from training.data.overlay import app_data_dir

    key = hashlib.sha256(os.path.abspath(root).encode("utf-8", "surrogatepass")).hexdigest()[:20]
    return os.path.join(app_data_dir(), "active_learning", f"{key}.json")


def load_curve(root: str) -> list[dict]:
    """The saved points of ``root``'s curve ([] when there are none or the file is unusable:
    a curve is a convenience, never a reason to fail)."""
    from training.safefiles import UntrustedFileError, check_schema, read_json

    path = curve_path(root)
    if not os.path.exists(path):
        return []
    try:
        data = read_json(path, _MAX_BYTES)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        check_schema(data, "labelling curve", SCHEMA_VERSION, where=path)
    except (UntrustedFileError, OSError, ValueError) as exc:
        log.warning("Ignoring the saved labelling curve %s: %s", path, exc)
        return []
    points = []
    for p in data.get("points") or []:
        if isinstance(p, dict) and isinstance(p.get("labels"), int):
            acc = p.get("accuracy")
            points.append({"labels": p["labels"], "trained_on": int(p.get("trained_on") or 0),
                           "held_back": int(p.get("held_back") or 0),
                           "accuracy": float(acc) if isinstance(acc, (int, float)) else None})
    return points[-MAX_POINTS:]


def save_curve(root: str, points: list[dict]) -> None:
    """Replace ``root``'s saved curve with ``points`` (atomically).

    Raises:
        OSError: the app's data folder cannot be written.
    """
    from training.safefiles import write_json

    path = curve_path(root)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_json(path, {"schema_version": SCHEMA_VERSION, "root": os.path.abspath(root),
                      "points": [{k: p.get(k) for k in _KEYS} for p in points[-MAX_POINTS:]]})
