"""Evaluation of a trained run: metrics in plain NumPy, and ``evaluate(run_dir)``.

``metrics_from_predictions`` is pure NumPy so it can be checked by hand; ``evaluate``
loads the run's model (safe mode), decodes the test split (validation if the dataset
has no test split) and writes ``evaluation.json`` into the run folder.
"""
from __future__ import annotations

import time

import numpy as np

from training.runs.runfolder import RunError, RunFolder
from training.events import Events

GALLERY_SIZE = 25


def metrics_from_predictions(y_true, probs, classes, paths=None, rows=None,
                             seed: int = 42, gallery_size: int = GALLERY_SIZE) -> dict:
    """Every evaluation number from true labels and predicted probabilities.

    Args:
        y_true: int labels, shape (N,).
        probs: probabilities, shape (N, C) (binary heads already as ``[1-p, p]``).
        classes: the C class names.
        paths: optional per-sample names (shown in galleries).
        rows: optional per-sample row numbers into the dataset index.
        seed: seeds the ``random_sample`` gallery.
        gallery_size: length of ``most_incorrect`` and ``random_sample``.

    Returns:
        ``{num_samples, loss, accuracy, classes, confusion_matrix (rows = true,
        columns = predicted), per_class [{class, precision, recall, f1, support}],
        macro_avg, weighted_avg, predictions [{row, path, true, pred, true_class,
        pred_class, confidence, probabilities}], most_incorrect, random_sample}``.
        Precision/recall/F1 of a class with no predictions/samples is 0.
    """
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    probs = np.asarray(probs, dtype=np.float64)
    classes = [str(c) for c in classes]
    n, c = len(y_true), len(classes)
    if probs.shape != (n, c):
        raise ValueError(f"probs must have shape ({n}, {c}) for {n} labels and {c} classes. "
                         f"Received: probs.shape={probs.shape}")
    if n and (y_true.min() < 0 or y_true.max() >= c):
        raise ValueError(f"Labels must lie in 0..{c - 1}. Received: min={y_true.min()}, max={y_true.max()}")
    rows = np.arange(n) if rows is None else np.asarray(rows).reshape(-1)
    paths = [str(r) for r in rows] if paths is None else [str(p) for p in paths]

    pred = probs.argmax(axis=1) if n else np.zeros(0, dtype=np.int64)
    cm = np.zeros((c, c), dtype=np.int64)
    np.add.at(cm, (y_true, pred), 1)
    p_true = probs[np.arange(n), y_true] if n else np.zeros(0)
    # Same clipping as Keras' crossentropy, so the number matches model.evaluate().
    loss = float(-np.log(np.clip(p_true, 1e-7, 1.0)).mean()) if n else None
    accuracy = float(np.trace(cm) / n) if n else None

    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)
    precision = np.divide(tp, predicted, out=np.zeros(c), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(c), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(c), where=denom > 0)
    per_class = [{"class": classes[i], "precision": float(precision[i]), "recall": float(recall[i]),
                  "f1": float(f1[i]), "support": int(support[i])} for i in range(c)]
    weights = support / support.sum() if support.sum() else np.zeros(c)

    def avg(values, w=None):
        return float(np.average(values, weights=w)) if c and (w is None or w.sum()) else 0.0

    predictions = [{"row": int(rows[i]), "path": paths[i], "true": int(y_true[i]), "pred": int(pred[i]),
                    "true_class": classes[y_true[i]], "pred_class": classes[pred[i]],
                    "confidence": float(probs[i, pred[i]]), "probabilities": probs[i].tolist()}
                   for i in range(n)]
    wrong = np.flatnonzero(pred != y_true)
    # Seed 004's see_most_incorrect: wrong predictions, most confident first.
    order = wrong[np.argsort(-probs[wrong, pred[wrong]], kind="stable")] if len(wrong) else wrong
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=min(gallery_size, n), replace=False)) if n else []
    from training.trust.curves import pr_curves

    return {
        "num_samples": n,
        "loss": loss,
        "accuracy": accuracy,
        # Mean per-class recall: what accuracy would be if every class were equally big.
        "balanced_accuracy": avg(recall[support > 0]) if (support > 0).any() else None,
        "pr_curves": pr_curves(probs, y_true, classes) if n else [],
        "classes": classes,
        "confusion_matrix": cm.tolist(),
        "per_class": per_class,
        "macro_avg": {"precision": avg(precision), "recall": avg(recall), "f1": avg(f1)},
        "weighted_avg": {"precision": avg(precision, weights), "recall": avg(recall, weights),
                         "f1": avg(f1, weights)},
        "predictions": predictions,
        "most_incorrect": [predictions[i] for i in order[:gallery_size]],
        "random_sample": [predictions[i] for i in sample],
    }


def evaluation_split(splits) -> tuple[int, str]:
    """The split to evaluate on: test if it has samples, else validation."""
    from training.data.index import TEST, VALIDATION

    splits = np.asarray(splits)
    if np.any(splits == TEST):
        return TEST, "test"
    return VALIDATION, "validation"


def evaluate_arrays(model, data, index_paths, classes, events: Events | None = None,
                    batch_size: int = 64, seed: int = 42, trust=None,
                    passes: dict | None = None) -> dict | None:
    """Evaluate an in-memory model on the test (or validation) split of ``data``.

    ``data`` is an ``ImageData`` (``training.data.open_images``: batches read from the
    store / the parallel reader) or a ``PreparedData``; both give ``split_batches``.
    With ``trust`` (a ``training.trust.rule.Trust``) the probabilities are calibrated and the
    result gains ``calibration`` and ``unknown``. Returns None when neither split has
    samples. With ``passes`` (``training.trust.fitting.model_passes``, which calibration
    used too) the model's outputs are taken from there instead of a pass of its own.
    Raises ``Stopped`` on a stop request.
    """
    from training.inference.predict import compiled_call, to_probabilities

    split, split_name = evaluation_split(data.splits)
    n = int(np.sum(np.asarray(data.splits) == split))
    if not n:
        return None
    events = events or Events()
    events.on_status(f"Evaluating on {n:,} {split_name} images…")
    # With the outputs computed already (passes), no prediction batch checks for a stop
    # below: a stop asked for while evaluating takes effect here.
    events.check_stop()
    extras = {}
    if trust is not None:
        from training.trust.fitting import trusted_predictions

        out = trusted_predictions(model, data, split, trust, events, batch_size,
                                  what=f"evaluating ({split_name})",
                                  out=(passes or {}).get(split_name))
        if out is None:
            return None
        rows, y_all, p_all, extras = out
        ys, probs = [y_all], [p_all]
    else:
        call = compiled_call(model)
        probs, ys, rows = [], [], []
        done = 0
        for x, y, kept in data.split_batches(split, batch_size):
            events.check_stop()
            if len(x):
                probs.append(to_probabilities(call(np.asarray(x, dtype=np.float32)).numpy()))
                ys.append(y)
                rows.append(kept)
            done += len(x)
            events.on_progress(min(done, n), n, f"evaluating ({split_name})")
        if not probs:
            return None
        rows = np.concatenate(rows)
    paths = [index_paths[int(r)] for r in rows] if index_paths is not None else None
    result = metrics_from_predictions(np.concatenate(ys), np.concatenate(probs), classes, paths=paths,
                                      rows=rows, seed=seed)
    reasons = (extras.get("unknown") or {}).pop("reasons", None)
    if reasons is not None:
        # The galleries' dicts are these same objects, so they get the reason too.
        for p, r in zip(result["predictions"], reasons):
            p["unknown_reason"] = r
    result.update(extras)
    result["split"] = split_name
    return result


def evaluate(run_dir, dataset=None, events: Events | None = None, which: str = "final") -> dict:
    """Evaluate a saved run and write ``evaluation.json`` into its folder.

    Args:
        run_dir: a run folder written by ``train()``.
        dataset: a ``DatasetSpec``, path or ``DatasetIndex`` to evaluate on; by default
            the dataset recorded in ``dataset.json``.
        events: progress and stop requests.
        which: ``"final"`` (falls back to best) or ``"best"`` (falls back to final).

    Returns:
        The ``metrics_from_predictions`` dict plus ``split``, ``run_dir``,
        ``test_accuracy``, ``test_loss``, ``dataset_fingerprint``, ``warnings`` and
        ``bad_files`` (``[{path, reason}]``: items of the dataset that were skipped).

    Raises:
        RunError: damaged run folder or no model in it.
        UnsafeModelError: the model file needs unsafe deserialisation.
        DatasetError: the dataset cannot be opened.
        Stopped: a stop was requested (checked after loading the model, between
            decoding chunks and between prediction batches); nothing is written then,
            so an earlier ``evaluation.json`` stays as it was.
    """
    from training.data import open_images
    from training.inference.predict import Predictor

    events = events or Events()
    t0 = time.perf_counter()
    folder = RunFolder(run_dir)
    run = folder.load()
    predictor = Predictor(run_dir, which=which)
    events.check_stop()
    index, warnings = folder.open_dataset(dataset, events)
    classes = predictor.classes
    if list(index.classes) != list(classes):
        raise RunError(f"The dataset's classes {list(index.classes)} differ from the run's "
                            f"classes {list(classes)}; cannot evaluate this run on it.")
    events.check_stop()
    with open_images(index, predictor.input_size, predictor.color_mode, events) as data:
        from training.trust.fitting import model_passes

        seed = int(run.get("seed", 42))
        # A run without calibration yet gets it from the same pass as the evaluation.
        passes = None if folder.calibration_json.is_file() else \
            model_passes(predictor.model, data, events, seed)
        result = evaluate_arrays(predictor.model, data, index.paths, classes, events, seed=seed,
                                 trust=_run_trust(run_dir, predictor.model, data, events, run,
                                                  passes), passes=passes)
    if result is None:
        raise RunError(f"The dataset {index.root} has no test or validation images to evaluate on.")
    result.update(run_dir=str(run_dir), test_accuracy=result["accuracy"], test_loss=result["loss"],
                  dataset_fingerprint=index.fingerprint(), warnings=warnings,
                  bad_files=[b.to_dict() for b in index.bad_files],
                  seconds=time.perf_counter() - t0)
    folder.write_evaluation(result)
    folder.update_info(test_accuracy=result["accuracy"], test_loss=result["loss"],
                       evaluated_on=result.get("split"))
    return result


def _run_trust(run_dir, model, data, events, run, passes=None):
    """The run's calibration and unknown rule, fitted now if the run has none yet."""
    from training.trust.fitting import fit_trust
    from training.trust.rule import Trust

    if not RunFolder(run_dir).calibration_json.is_file():
        fit_trust(model, data, run_dir, events, seed=int(run.get("seed", 42)), passes=passes)
    return Trust.load(run_dir)
