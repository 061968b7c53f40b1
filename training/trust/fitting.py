"""Fitting a run's trust artifacts: the one model pass after ``fit`` that calibration, the
unknown rule and the evaluation share, fitting the temperature and the unknown rule on it
and writing them into the run folder, and one split's calibrated predictions with what
the evaluation says about trust.

Apart from ``training.trust.rule`` (``Trust``: reading those files back and applying them,
which every prediction does) because this side runs the model and is used only after
training and by ``evaluate``.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from training.events import Events
from training.runs.runfolder import CALIBRATION_JSON, UNKNOWN_JSON, UNKNOWN_REFERENCE_NPZ, write_json
from training.trust.calibration import apply_temperature, fit_temperature_checked, nll
from training.trust.rule import CALIBRATION_SCHEMA, Trust
from training.trust.unknown import (MAX_REFERENCE, fit_gaussian, fit_rule, mahalanobis, normalize,
                                    thumbnails)

log = logging.getLogger(__name__)


def _embedder(model, batch_size: int = 64):
    """The penultimate-feature model of ``model``, or None (then probabilities only)."""
    from training.features.embeddings import Embedder

    try:
        return Embedder(model, batch_size)
    except ValueError as exc:
        log.warning("No penultimate features (%s); no feature-distance check", exc)
        return None


def _one_pass(model, batches, total: int, events: Events, what: str, logits: bool = False,
              emb=False) -> dict:
    """Raw probabilities, penultimate features (None if the model has none) and thumbnails
    of ``(images, labels, rows)`` batches, in one pass over the images; with ``logits``,
    also the head's logits (None where they cannot be read off the features).

    ``emb``: an :class:`~training.features.embeddings.Embedder` to reuse (its traced
    function is the expensive part to make), None for a model without features, or False
    to make one here."""
    from training.features.modelcall import compiled_call, to_probabilities

    if emb is False:
        emb = _embedder(model)
    call = compiled_call(model) if emb is None else None
    rows, labels, raw, feats, thumbs = [], [], [], [], []
    done = 0
    for x, y, kept in batches:
        events.check_stop()
        if len(x):
            if emb is not None:
                f, p = emb.embed_batch(x, with_probabilities=True)
                feats.append(f)
            else:
                p = to_probabilities(call(np.asarray(x, dtype=np.float32)).numpy())
            raw.append(p)
            thumbs.append(thumbnails(x))
            rows.append(np.asarray(kept, dtype=np.int64))
            labels.append(np.asarray(y, dtype=np.int64))
        done += len(x)
        events.on_progress(min(done, total), total, what)
    if not raw:
        return {"rows": np.zeros(0, np.int64), "labels": np.zeros(0, np.int64), "raw": None,
                "features": None, "thumbs": np.zeros((0, 64), np.float32), "logits": None}
    out = {"rows": np.concatenate(rows), "labels": np.concatenate(labels),
           "raw": np.concatenate(raw), "features": np.concatenate(feats) if feats else None,
           "thumbs": np.concatenate(thumbs), "logits": None}
    if logits and emb is not None:
        out["logits"] = emb.logits(out["features"], out["raw"])
    return out


# Images per model call: :func:`training.features.modelcall.inference_batch` (big batches
# for small inputs, where each call's overhead dominates; 64 for big ones).


def model_passes(model, data, events: Events | None = None, seed: int = 42,
                 batch_size: int | None = None) -> dict:
    """The one forward pass after ``fit`` that calibration, the unknown rule, the
    evaluation and its galleries share (issue 21 item 4).

    One penultimate-feature model and one traced function run once over the validation
    split, the training subsample the unknown rule keeps as its reference, and the test
    split. Before, each of the three passes built and traced its own (2.6-6 s of fixed
    cost per run in the 28x28 benchmark, docs/BENCHMARKS.md section 10).

    ``batch_size``: images per model call; None picks it per split
    (:func:`training.features.modelcall.inference_batch`).
    The traced function takes any batch size, so this traces nothing again.

    Returns:
        ``{"validation": pass, "train": pass, "test": pass}`` (see :func:`_one_pass`; a
        split without images gives ``raw`` None).

    Raises:
        Stopped: a stop was requested between batches.
    """
    from training.data.index import TEST, TRAIN, VALIDATION

    events = events or Events()
    from training.features.modelcall import MIN_BATCH, inference_batch

    emb = _embedder(model, batch_size or MIN_BATCH)
    splits = np.asarray(data.splits)

    def batches(split, limit=None):
        from training.features.embeddings import split_batches

        n = int(np.count_nonzero(splits == split))
        size = batch_size or inference_batch(min(n, limit or n), model.input_shape[1:])
        return split_batches(data, split, size, limit=limit, seed=seed)

    return {
        "validation": _one_pass(model, *batches(VALIDATION), events,
                                "calibrating (validation)", logits=True, emb=emb),
        "train": _one_pass(model, *batches(TRAIN, MAX_REFERENCE), events,
                           "reference features (training subsample)", emb=emb),
        "test": _one_pass(model, *batches(TEST), events, "evaluating (test)", emb=emb)}


def fit_trust(model, data, run_dir, events: Events | None = None, seed: int = 42,
              passes: dict | None = None) -> dict | None:
    """Fit the temperature and the unknown rule on ``data``'s validation split; write them.

    Args:
        model: the trained Keras model.
        data: the run's images (``open_images`` data or a ``PreparedData``).
        run_dir: where ``calibration.json``, ``unknown.json`` and the reference go.
        passes: :func:`model_passes` already made (the validation and training parts are
            used); None runs them here.

    Returns:
        The calibration dict written, or None when the split has no validation images
        (then nothing is written and probabilities stay as the model gives them).

    Raises:
        Stopped: a stop was requested between batches.
    """
    from training.data.index import TRAIN, VALIDATION
    from training.features.embeddings import split_batches

    events = events or Events()
    if not np.any(np.asarray(data.splits) == VALIDATION):
        events.on_status("No validation images: probabilities are not calibrated and no "
                         "unknown rule is chosen.")
        return None
    events.on_status("Calibrating on the validation split…")
    if passes is None:
        emb = _embedder(model)
        val = _one_pass(model, *split_batches(data, VALIDATION, 64), events,
                        "calibrating (validation)", logits=True, emb=emb)
        train = _one_pass(model, *split_batches(data, TRAIN, 64, limit=MAX_REFERENCE, seed=seed),
                          events, "reference features (training subsample)", emb=emb)
    else:
        val, train = passes["validation"], passes["train"]
    if val["raw"] is None or not len(train["rows"]):
        return None
    reference = normalize(train["features"]) if train["features"] is not None else None
    appearance = fit_gaussian(train["thumbs"])
    val_look = mahalanobis(val["thumbs"], *appearance)
    raw, y_val = val["raw"], val["labels"]
    fit = fit_temperature_checked(raw, y_val, val["logits"], seed=seed)
    temperature = fit["temperature"]
    calibrated = apply_temperature(raw, temperature)
    rule = fit_rule(calibrated, y_val, val["features"], reference, temperature,
                    val_appearance=val_look)
    folder = Path(run_dir)
    # Validation numbers before/after, and why T = 1 was kept when it was.
    calibration = {"schema_version": CALIBRATION_SCHEMA, "method": "temperature",
                   "temperature": temperature, "fitted_on": "validation",
                   "fitted_temperature": fit["fitted_temperature"], "accepted": fit["accepted"],
                   "reason": fit["reason"], "fit_input": fit["fitted_on"],
                   "num_samples": len(y_val), "nll_before": fit["nll_before"],
                   "nll_after": fit["nll_after"], "ece_before": fit["ece_before"],
                   "ece_after": fit["ece_after"], "cv_splits": fit["cv_splits"],
                   "cv_nll_before": fit["cv_nll_before"], "cv_nll_after": fit["cv_nll_after"],
                   "cv_ece_before": fit["cv_ece_before"], "cv_ece_after": fit["cv_ece_after"],
                   "cv_ece_lowered": fit["cv_ece_lowered"]}
    tmp = folder / (UNKNOWN_REFERENCE_NPZ + ".tmp.npz")
    np.savez_compressed(tmp, features=(reference if reference is not None
                                       else np.zeros((0, 0))).astype(np.float32),
                        thumb_mean=appearance[0], thumb_precision=appearance[1])
    os.replace(tmp, folder / UNKNOWN_REFERENCE_NPZ)
    write_json(folder / UNKNOWN_JSON, rule.to_dict())
    write_json(folder / CALIBRATION_JSON, calibration)
    events.on_status(f"Temperature {temperature:.3f}"
                     + ("" if fit["accepted"] else f" ({fit['reason']})")
                     + "; unknown below "
                     f"{rule.confidence_threshold:.1%} confidence"
                     + ("" if rule.distance_threshold is None else
                        f" or beyond kNN distance {rule.distance_threshold:.3f}"))
    return calibration


def trusted_predictions(model, data, split: int, trust: Trust, events: Events | None = None,
                        batch_size: int = 64, what: str = "evaluating", out: dict | None = None):
    """Calibrated probabilities of one split and what the evaluation JSON says about trust.

    Returns:
        ``(rows, labels, probabilities (N, C), extras)`` or None when the split is empty;
        ``extras`` holds ``loss`` (the model's own, uncalibrated, so it matches the
        training curves), ``calibration`` (ECE/NLL before and after, reliability bins) and
        ``unknown`` (rates on these images and the reason per image, ``reasons``).
        ``out``: this split's :func:`model_passes` entry, when already computed.
    """
    from training.trust.calibration import calibration_report
    from training.features.embeddings import split_batches

    events = events or Events()
    if out is None:  # not given by model_passes: one pass over the split here
        out = _one_pass(model, *split_batches(data, split, batch_size), events, what)
    if out["raw"] is None:
        return None
    raw, y = out["raw"], out["labels"]
    look = mahalanobis(out["thumbs"], *trust.appearance) if trust.appearance is not None else None
    assessed = trust.assess(raw, out["features"], appearance=look)
    probs = assessed["probabilities"]
    extras = {"loss": nll(raw, y), "calibration": calibration_report(raw, y, trust.temperature)}
    if trust.fit:  # how the temperature was chosen, with the validation numbers
        extras["calibration"]["validation"] = {
            k: trust.fit.get(k) for k in ("fitted_temperature", "accepted", "reason", "fit_input",
                                          "num_samples", "nll_before", "nll_after", "ece_before",
                                          "ece_after", "cv_nll_before", "cv_nll_after",
                                          "cv_ece_before", "cv_ece_after", "cv_ece_lowered")}
    if trust.rule is not None:
        unknown = np.asarray(assessed["unknown"], dtype=bool)
        reasons = assessed["reasons"]
        correct = probs.argmax(axis=1) == y
        extras["unknown"] = {
            **trust.summary()["unknown"],
            "num_samples": len(y), "unknown_rate": float(unknown.mean()),
            "by_reason": {r: sum(1 for v in reasons if v == r) for r in set(reasons) if r},
            "accuracy_answered": float(correct[~unknown].mean()) if (~unknown).any() else None,
            "reasons": reasons,
        }
    return out["rows"], y, probs, extras
