"""The parity gate: an exported file must give the Keras model's probabilities.

The images are up to 256 of the run's test split (validation when it has no test
split), the most-incorrect ones first (evaluation.json): wrong-and-confident images sit
near decision boundaries, where a small numeric difference flips the top-1 class. A float
export fails above ``FLOAT_MAX_DIFF`` max |dp| (Keras' own tests use 1e-6 for ONNX and
1e-4 for LiteRT); a quantized one needs ``QUANT_MIN_AGREEMENT`` top-1 agreement.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from training.runs import runfolder
from training.events import Events
from training.inference.predict import to_probabilities

log = logging.getLogger(__name__)

MAX_IMAGES = 256
REPRESENTATIVE_IMAGES = 100
FLOAT_MAX_DIFF = 1e-4
QUANT_MIN_AGREEMENT = 0.99


@dataclass
class ParityData:
    """Images the gate runs on, and training images for int8 calibration.

    Attributes:
        x: uint8 (N, h, w, c) parity images.
        y: int labels (N,) or None when the images are not the run's (random fallback).
        source: a sentence saying where the images came from.
        train_x: uint8 training images for the representative dataset.
    """

    x: np.ndarray
    y: np.ndarray | None
    source: str
    train_x: np.ndarray


def _spread(positions: np.ndarray, n: int) -> np.ndarray:
    """``n`` positions evenly spaced over ``positions`` (all of them when fewer)."""
    if len(positions) <= n:
        return positions
    return positions[np.linspace(0, len(positions) - 1, n).round().astype(int)]


def choose(rows: np.ndarray, most_incorrect_rows, n: int = MAX_IMAGES) -> np.ndarray:
    """Positions into ``rows``: the most-incorrect rows first, then evenly spread others."""
    rows = np.asarray(rows)
    where = {int(r): i for i, r in enumerate(rows)}
    first = [where[int(r)] for r in most_incorrect_rows if int(r) in where][:n]
    rest = np.setdiff1d(np.arange(len(rows)), first)
    return np.concatenate([np.asarray(first, dtype=np.int64),
                           _spread(rest, n - len(first))]).astype(np.int64)


def load_parity_data(run_dir, input_size, color_mode: str, events: Events) -> ParityData:
    """Read the gate's images (and the int8 calibration images) through the core's data path.

    Only the chosen rows are read (``training.data.open_images``): at most 256 test and 100
    training images, never a whole split. When the dataset cannot be opened any more
    (moved, deleted), the gate runs on seeded random images instead and says so: the
    numbers still compare the two models.
    """
    from training.data import DatasetError, open_images
    from training.data.index import TRAIN
    from training.inference.evaluate import evaluation_split
    from training.runs.runfolder import RunFolder

    folder = RunFolder(run_dir)
    try:
        index, _ = folder.open_dataset(None, events)
        data = open_images(index, tuple(input_size), color_mode, events)
    except (DatasetError, runfolder.RunError, OSError) as exc:
        log.warning("Parity on random images: %s", exc)
        rng = np.random.default_rng(0)
        h, w = input_size
        c = 1 if color_mode == "grayscale" else 3
        x = rng.integers(0, 256, (64, h, w, c), dtype=np.uint8)
        return ParityData(x, None, f"64 random images (the run's dataset could not be read: "
                                   f"{str(exc)[:200]})", x[:16])
    with data:
        split, split_name = evaluation_split(data.splits)
        test_rows = data.split_rows(split)
        try:
            most_incorrect = [p["row"] for p in folder.read_evaluation().get("most_incorrect", [])]
        except (runfolder.RunError, OSError, KeyError, TypeError, ValueError):
            most_incorrect = []
        x, kept = data.read(test_rows[choose(test_rows, most_incorrect)])
        y = np.asarray(index.labels)[kept]
        train_x, _ = data.read(_spread(data.split_rows(TRAIN), REPRESENTATIVE_IMAGES))
    n_wrong = len(set(map(int, most_incorrect)) & set(map(int, kept)))
    source = (f"{len(kept)} {split_name} images ({n_wrong} of them most-incorrect first)"
              if len(kept) else "no test images")
    return ParityData(x, y, source, train_x)


def run_batches(fn, x_uint8: np.ndarray, events: Events, what: str, batch: int = 32) -> np.ndarray:
    """Probabilities of ``fn`` (float32 batch -> raw outputs) over uint8 images."""
    outs = []
    for start in range(0, len(x_uint8), batch):
        events.check_stop()
        outs.append(to_probabilities(fn(np.asarray(x_uint8[start:start + batch], np.float32))))
        events.on_progress(min(start + batch, len(x_uint8)), len(x_uint8), what)
    return np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)


def figures(reference: np.ndarray, exported: np.ndarray, labels=None,
            quantized: bool = False) -> dict:
    """max/mean |dp|, top-1 agreement and (with labels) the accuracy change, and ``ok``."""
    reference, exported = np.asarray(reference, np.float64), np.asarray(exported, np.float64)
    if reference.shape != exported.shape:
        return {"images": len(reference), "max_abs_diff": None, "mean_abs_diff": None,
                "top1_agreement": None, "ok": False,
                "reason": f"output shape {exported.shape} differs from Keras' {reference.shape}"}
    n = len(reference)
    diff = np.abs(reference - exported)
    out = {
        "images": n,
        "max_abs_diff": float(diff.max()) if n else 0.0,
        "mean_abs_diff": float(diff.mean()) if n else 0.0,
        "top1_agreement": float(np.mean(reference.argmax(1) == exported.argmax(1))) if n else 1.0,
    }
    if labels is not None and n:
        labels = np.asarray(labels)
        acc_k = float(np.mean(reference.argmax(1) == labels))
        acc_e = float(np.mean(exported.argmax(1) == labels))
        out.update(accuracy_keras=acc_k, accuracy_export=acc_e, accuracy_change=acc_e - acc_k)
    if quantized:
        out["rule"] = f"top-1 agreement >= {QUANT_MIN_AGREEMENT:.0%}"
        out["ok"] = out["top1_agreement"] >= QUANT_MIN_AGREEMENT
    else:
        out["rule"] = f"max |dp| <= {FLOAT_MAX_DIFF:g}"
        out["ok"] = out["max_abs_diff"] <= FLOAT_MAX_DIFF
    if not out["ok"]:
        out["reason"] = (f"failed the parity gate ({out['rule']}): max |dp| "
                         f"{out['max_abs_diff']:.3g}, top-1 agreement {out['top1_agreement']:.1%}")
    return out
