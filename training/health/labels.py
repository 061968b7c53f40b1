"""Likely label errors: cleanlab on out-of-sample predicted probabilities.

cleanlab's ``find_label_issues`` is only trustworthy on probabilities from a model that
did not see the sample's label. With a run, the default trains the run's model again
K-fold (``cross_val_retrain``: every image is predicted by models that never learned it),
averaged with the run's own predictions on validation and test, which are out of sample
already. The quick alternative (``out_of_sample``) fits a K-fold logistic regression on the
run's penultimate features; it is weak when the run memorised its wrong training labels.
Without a run the same K-fold regression is fitted on small grayscale thumbnails for every
split (weaker, but it needs no training).
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

    events = events or Events()
    x = np.asarray(features, np.float32).reshape(len(features), -1)
    y = np.asarray(labels, np.int64)
    n = len(y)
    out = np.full((n, num_classes), 1.0 / num_classes, np.float64)
    if n < 2 or len(np.unique(y)) < 2:
        return out
    folds = max(2, min(int(folds), n))
    splitter = _fold_splitter(y, folds, seed)
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


FEATURES_METHOD = ("K-fold logistic regression on the run's penultimate features (every "
                   "split), averaged with the run's own predictions on validation and test")


def out_of_sample(features, model_probs, labels, splits, num_classes: int, folds: int = 3,
                  seed: int = 0, events: Events | None = None) -> np.ndarray:
    """Out-of-sample probabilities from the run's features, without training again (the
    quick method, ``retrain=False``).

    The K-fold classifier covers every split, so all images are scored on one scale
    (cleanlab's per-class thresholds assume that); on validation and test the run's own
    predictions are averaged in. Weak when the run memorised its training labels (its
    features then carry the wrong ones): see :func:`cross_val_retrain`.
    """
    oos = cross_val_probabilities(features, labels, num_classes, folds, seed, events,
                                  "cross-validating on the model's features")
    return with_run_predictions(oos, model_probs, splits)


RETRAIN_FOLDS = 5    # K of the retraining (each fold model learns 80 % of the data)
RETRAIN_REPEATS = 2  # K-fold passes with different splits and seeds, averaged
# Epochs of each fold model, at most: the run's own budget (up to 30 epochs for a small
# set) made 10 trainings take 623 s on 5,000 images (issue 21), 8 epochs 309 s. The cosine
# schedule decays fully over whatever epochs it is given, and fold models only have to
# rank labels: with 5 epochs bench/label_noise.py --fashion 5000 still finds the planted
# errors as 8 did (top-292 recall 0.84 at precision 0.84; docs/BENCHMARKS.md section 11).
RETRAIN_MAX_EPOCHS = 5

RETRAIN_METHOD = ("K-fold retraining of the run's model ({folds} folds x {repeats}: each image "
                  "predicted by models that never saw it), averaged with the run's own "
                  "predictions on validation and test")


def _fold_splitter(y: np.ndarray, folds: int, seed: int):
    from sklearn.model_selection import KFold, StratifiedKFold

    counts = np.bincount(y)
    if counts[counts > 0].min() >= folds:
        return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return KFold(n_splits=folds, shuffle=True, random_state=seed)  # a class smaller than K


def cross_val_retrain(index, run_dir, folds: int = RETRAIN_FOLDS, seed: int = 0,
                      events: Events | None = None, repeats: int = 1) -> np.ndarray:
    """Out-of-sample probabilities ``(len(index), C)`` by training the run's model again
    ``folds x repeats`` times: in each pass every fold is held out once as the test split
    (cleanlab's recommended way: no image is scored by a model that learned its label),
    and the passes (other fold splits, other training seeds) are averaged. Each training
    uses the run's spec and settings, with at most ``RETRAIN_MAX_EPOCHS`` epochs. Where it
    can (``training.health.folds``) one traced model is reset and trained again for every
    fold in this process, with no run folders; otherwise each fold is a ``train()`` run in a
    temporary folder, deleted afterwards. Both give the same probabilities (tested).

    Why this and not the run's own features: a model that memorised a wrong training label
    carries it in its features too. Measured with 5 % planted errors on the bundled sample
    (bench/label_noise.py): K-fold regression on the memorising CNN's features found 0.51
    of them in the top-k, one 5-fold retraining pass 0.79-0.80, two passes 0.84.
    Rows that could not be decoded keep a uniform distribution. Raises ``Stopped`` on a
    stop request.
    """
    import dataclasses
    import shutil
    import tempfile

    from training.recipe.config import TrainConfig
    from training.data.index import TEST, TRAIN, DatasetIndex
    from training.health.folds import FoldTrainer, can_share_model
    from training.models import ModelSpec
    from training.runs.runfolder import RunFolder
    from training.fit.train import train

    events = events or Events()
    folder = RunFolder(run_dir)
    spec = ModelSpec.from_dict(folder.read_spec(), folder.spec_json)
    config = TrainConfig.from_dict(folder.read_config(), folder.config_json)
    c = len(index.classes)
    y = np.asarray(index.labels, np.int64)
    total = np.zeros((len(y), c))
    seen = np.zeros(len(y))
    folds, repeats = max(2, min(int(folds), len(y))), max(1, int(repeats))

    def fold_index(splits):
        return DatasetIndex(root=index.root, kind=index.kind, classes=list(index.classes),
                            paths=list(index.paths), labels=y.copy(), splits=splits,
                            arrays=index.arrays)

    # One traced model for every fold where it can be (training.health.folds); else each
    # fold is a whole train() run in a temporary folder.
    shared = (FoldTrainer(fold_index(np.asarray(index.splits).copy()), spec, config, events)
              if can_share_model(spec, config) else None)
    work = None if shared is not None else tempfile.mkdtemp(prefix="workbench-cv-")
    done, models = 0, folds * repeats
    try:
        for rep in range(repeats):
            splitter = _fold_splitter(y, folds, seed + rep)
            fold_config = dataclasses.replace(config, seed=int(config.seed) + rep,
                                              epochs=min(int(config.epochs), RETRAIN_MAX_EPOCHS))
            for k, (_, held) in enumerate(splitter.split(np.zeros(len(y)), y)):
                events.check_stop()
                events.on_status(f"Cross-validation: training model {done + 1} of {models}…")
                splits = np.asarray(index.splits).copy()
                splits[held] = TEST
                fold_events = _FoldEvents(events, done, models)
                if shared is not None:
                    if k == 0:
                        shared.start_pass(fold_config, int(np.count_nonzero(splits == TRAIN)))
                    shared.fit_fold(splits, fold_events)
                    rows, probs = shared.predict(splits)
                    total[rows] += probs
                    seen[rows] += 1
                else:
                    summary = train(fold_index(splits), spec, fold_config, fold_events,
                                    run_dir=f"{work}/r{rep}f{k}")
                    if summary.status != "complete":
                        events.check_stop()
                    for p in RunFolder(summary.run_dir).read_evaluation()["predictions"]:
                        r = int(p["row"])
                        total[r] += p["probabilities"]
                        seen[r] += 1
                    shutil.rmtree(summary.run_dir, ignore_errors=True)
                done += 1
                events.on_progress(done * FOLD_STEPS, models * FOLD_STEPS, _CV_WHAT)
    finally:
        if shared is not None:
            shared.close()
        else:
            shutil.rmtree(work, ignore_errors=True)
    out = np.full((len(y), c), 1.0 / c)
    ok = seen > 0
    out[ok] = total[ok] / seen[ok, None]
    return out


FOLD_STEPS = 100   # progress units per cross-validation model
_CV_WHAT = "cross-validation models"


class _FoldEvents(Events):
    """What a fold's training reports, seen as progress of the whole cross-validation:
    its batches advance one bar (``FOLD_STEPS`` units per model) instead of restarting it
    per fold, and its own status lines and progress (they name its temporary run folder,
    an internal path the person never chose) are not passed on. Stop requests are."""

    def __init__(self, outer: Events, done: int, models: int):
        self.outer, self.done, self.models = outer, done, models

    def should_stop(self) -> bool:
        return self.outer.should_stop()

    def on_batch(self, info: dict) -> None:
        epochs, batches = max(1, int(info.get("epochs") or 1)), max(1, int(info.get("batches") or 1))
        within = (int(info.get("epoch") or 1) - 1 + int(info.get("batch") or 0) / batches) / epochs
        units = self.done * FOLD_STEPS + min(FOLD_STEPS - 1, int(within * FOLD_STEPS))
        self.outer.on_progress(units, self.models * FOLD_STEPS, _CV_WHAT)


def with_run_predictions(oos: np.ndarray, model_probs, splits) -> np.ndarray:
    """``oos`` with the run's own predictions averaged in on validation and test (which it
    never trained on, so they are out of sample too: one more model's opinion)."""
    from training.data.index import TRAIN

    out = np.asarray(oos, np.float64).copy()
    held = np.asarray(splits) != TRAIN
    out[held] = (out[held] + np.asarray(model_probs, np.float64)[held]) / 2
    return out
