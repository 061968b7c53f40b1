"""Likely label errors: cleanlab on out-of-sample predicted probabilities.

cleanlab's ``find_label_issues`` is only trustworthy on probabilities from a model that
did not see the sample's label. Validation and test predictions of a run already are;
for the training split (which the run learned, noisy labels included) the probabilities
come from K-fold cross-validation of a logistic regression on the run's penultimate
features: every fold is predicted by a classifier fitted on the other folds. Without a
run the same K-fold is fitted on small grayscale thumbnails for every split (weaker, but
it needs no training).
"""
from __future__ import annotations

import logging
import warnings

import numpy as np

from training.events import Events

log = logging.getLogger(__name__)

MAX_ITER = 300


def cross_val_probabilities(features: np.ndarray, labels: np.ndarray, num_classes: int,
                            folds: int = 3, seed: int = 0, events: Events | None = None,
                            what: str = "cross-validating") -> np.ndarray:
    """Out-of-sample probabilities ``(n, num_classes)`` by K-fold logistic regression.

    Features are standardised inside each fold (on that fold's training part only). A
    class missing from a fold's training part gets probability 0 there. Progress is one
    step per fold; a stop request between folds raises ``Stopped``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold, StratifiedKFold

    events = events or Events()
    x = np.asarray(features, np.float32).reshape(len(features), -1)
    y = np.asarray(labels, np.int64)
    n = len(y)
    out = np.full((n, num_classes), 1.0 / num_classes, np.float64)
    if n < 2 or len(np.unique(y)) < 2:
        return out
    folds = max(2, min(int(folds), n))
    counts = np.bincount(y, minlength=num_classes)
    present = counts[counts > 0]
    if present.min() >= folds:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    else:  # a class with fewer images than folds: stratification is impossible
        splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (fit_rows, held_rows) in enumerate(splitter.split(x, y)):
        events.check_stop()
        fit_y = y[fit_rows]
        if len(np.unique(fit_y)) < 2:
            continue
        mean = x[fit_rows].mean(axis=0)
        std = x[fit_rows].std(axis=0) + 1e-6
        clf = LogisticRegression(max_iter=MAX_ITER, C=1.0)
        with warnings.catch_warnings():  # lbfgs' "did not converge" is harmless here
            warnings.simplefilter("ignore")
            clf.fit((x[fit_rows] - mean) / std, fit_y)
        p = clf.predict_proba((x[held_rows] - mean) / std)
        full = np.zeros((len(held_rows), num_classes))
        full[:, clf.classes_] = p
        out[held_rows] = full
        events.on_progress(k + 1, folds, what)
    return out


def rank_label_issues(labels: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ranked rows of likely errors, label quality score per sample, flagged mask)``.

    The flagged set is cleanlab's ``find_label_issues`` (prune by noise rate), ranked by
    self-confidence; the score (0..1, low = likely wrong) ranks everything, so a caller
    can also take a fixed top-k.
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    labels = np.asarray(labels, np.int64)
    probs = np.clip(np.asarray(probs, np.float64), 1e-9, None)
    probs = probs / probs.sum(axis=1, keepdims=True)
    flagged = np.zeros(len(labels), bool)
    if len(labels) == 0:
        return np.zeros(0, np.int64), np.zeros(0), flagged
    scores = get_label_quality_scores(labels, probs, method="self_confidence")
    with warnings.catch_warnings():  # a class with very few images triggers warnings only
        warnings.simplefilter("ignore")
        try:
            ranked = find_label_issues(labels, probs, return_indices_ranked_by="self_confidence",
                                       n_jobs=1)
        except ValueError as exc:  # e.g. a class with no samples at all
            log.warning("cleanlab find_label_issues failed (%s); ranking by score only", exc)
            ranked = np.flatnonzero(probs.argmax(axis=1) != labels)
            ranked = ranked[np.argsort(scores[ranked], kind="stable")]
    flagged[ranked] = True
    return np.asarray(ranked, np.int64), np.asarray(scores), flagged


def label_issue_items(ranked, scores, labels, probs, classes, paths, splits, limit: int = 500) -> list[dict]:
    """The gallery rows of the ranked list: ``{row, path, split, given, suggested, score,
    confidence}`` (given/suggested are class names; confidence is the suggested class's
    out-of-sample probability)."""
    from training.data.index import SPLIT_NAMES

    items = []
    for r in ranked[:limit]:
        r = int(r)
        sug = int(np.argmax(probs[r]))
        items.append({"row": r, "path": paths[r], "split": SPLIT_NAMES[int(splits[r])],
                      "given": classes[int(labels[r])], "suggested": classes[sug],
                      "score": float(scores[r]), "confidence": float(probs[r, sug]),
                      "probabilities": [round(float(v), 5) for v in probs[r]]})
    return items


OUT_OF_SAMPLE_METHOD = ("K-fold logistic regression on the run's penultimate features (every "
                        "split), averaged with the run's own predictions on validation and test")


def out_of_sample(features, model_probs, labels, splits, num_classes: int, folds: int = 3,
                  seed: int = 0, events: Events | None = None) -> np.ndarray:
    """Out-of-sample probabilities for every image of a run's dataset.

    The K-fold classifier covers every split, so all images are scored on one scale
    (cleanlab's per-class thresholds assume that); on validation and test, which the run
    never trained on, its own predictions are out of sample too and are averaged in.
    Measured on the bundled sample with 5 % planted errors (bench/label_noise.py), this
    ranks more of them first than the run's predictions alone or the K-fold alone.
    """
    from training.data.index import TRAIN

    oos = cross_val_probabilities(features, labels, num_classes, folds, seed, events,
                                  "cross-validating on the model's features")
    held = np.asarray(splits) != TRAIN
    oos[held] = (oos[held] + np.asarray(model_probs, np.float64)[held]) / 2
    return oos


RETRAIN_METHOD = "K-fold retraining of the run's model (each fold predicted by a model that never saw it)"


def cross_val_retrain(index, run_dir, folds: int = 3, seed: int = 0,
                      events: Events | None = None) -> np.ndarray:
    """Out-of-sample probabilities ``(len(index), C)`` by training the run's model again
    ``folds`` times, each time with one fold held out as the test split (cleanlab's
    recommended way: no sample is scored by a model that learned its label). Each
    training uses the run's spec and settings; the fold models are deleted afterwards.

    Slower than :func:`out_of_sample` (``folds`` trainings) but a model that memorised a
    wrong training label cannot vouch for it. Rows that could not be decoded keep a
    uniform distribution. Raises ``Stopped`` on a stop request.
    """
    import shutil
    import tempfile

    from sklearn.model_selection import StratifiedKFold

    from training.config import TrainConfig
    from training.data.index import TEST, DatasetIndex
    from training.models import ModelSpec
    from training.runfolder import RunFolder
    from training.train import train

    events = events or Events()
    folder = RunFolder(run_dir)
    spec = ModelSpec.from_dict(folder.read_spec())
    config = TrainConfig.from_dict(folder.read_config())
    c = len(index.classes)
    y = np.asarray(index.labels)
    out = np.full((len(y), c), 1.0 / c)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    work = tempfile.mkdtemp(prefix="workbench-cv-")
    try:
        for k, (_, held) in enumerate(splitter.split(np.zeros(len(y)), y)):
            events.check_stop()
            events.on_status(f"Cross-validation: training fold {k + 1} of {folds}…")
            splits = np.asarray(index.splits).copy()
            splits[held] = TEST
            fold = DatasetIndex(root=index.root, kind=index.kind, classes=list(index.classes),
                                paths=list(index.paths), labels=y.copy(), splits=splits,
                                arrays=index.arrays)
            summary = train(fold, spec, config, events, run_dir=f"{work}/fold{k}")
            if summary.status != "complete":
                events.check_stop()
            for p in RunFolder(summary.run_dir).read_evaluation()["predictions"]:
                out[int(p["row"])] = p["probabilities"]
            events.on_progress(k + 1, folds, "cross-validation folds")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out
