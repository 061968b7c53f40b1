"""``check_health``: every data-health finding of one dataset (optionally with a run),
and the ``python -m training health`` command that prints it.

The result is plain data (``schema_version``), the same for the CLI's ``--json`` and the
GUI's Data health view. Row numbers index the dataset as opened (label overlay applied).
"""
from __future__ import annotations

import logging
import time
from typing import NamedTuple

import numpy as np

from training.events import Events

from . import balance, duplicates, labels

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
THUMB_SIZE = (32, 32)  # without a run: perceptual hashes and the pixel classifier use these
PIXEL_FEATURES = 16    # side of the thumbnail the no-run classifier is fitted on


def check_health(dataset, run_dir=None, events: Events | None = None, folds: int | None = None,
                 seed: int = 0, limit: int = 500, retrain: bool | None = None,
                 repeats: int | None = None) -> dict:
    """Likely label errors, exact/near duplicates, leakage, class balance and outliers.

    Args:
        dataset: a ``DatasetSpec``, path or opened ``DatasetIndex``.
        run_dir: a trained run on this dataset (same classes): its predictions rank the
            label errors (K-fold on its features for the training split) and its
            penultimate features find near duplicates. None: a pixel classifier and
            perceptual hashes instead.
        events: progress (``on_progress``/``on_status``) and stop (raises ``Stopped``).
        folds: K of the cross-validation (None: labels.RETRAIN_FOLDS when retraining, else 3).
        retrain: with a run, get the out-of-sample probabilities by training its model
            ``folds x repeats`` times (``labels.cross_val_retrain``; the default, None, with a
            run) or, False, quickly by K-fold regression on its features (weaker when the
            run memorised wrong training labels).
        repeats: K-fold passes of the retraining, averaged (None: 2).
        limit: at most this many rows in each list.

    Raises:
        DatasetError, RunError: the dataset cannot be opened, or the run does not match it.
    """
    from training.runs import runfolder
    from training.data import open_dataset
    from training.data.index import DatasetIndex
    from training.data.overlay_apply import overlay_info

    events = events or Events()
    t0 = time.perf_counter()
    index = dataset if isinstance(dataset, DatasetIndex) else open_dataset(dataset, events)
    classes, c = list(index.classes), len(index.classes)
    events.on_status("Checking class balance and image headers…")
    result = {"schema_version": SCHEMA_VERSION, "root": index.root, "num_samples": len(index),
              "classes": classes, "run_dir": str(run_dir) if run_dir else None,
              "overlay": overlay_info(index),
              "balance": balance.class_balance(index), "outliers": balance.outliers(index, events)}
    events.on_status("Looking for exact duplicates (hash of the decoded pixels)…")
    hashes = duplicates.pixel_hashes(index, events)
    exact = duplicates.exact_pairs(hashes)

    thumbs = _thumbnails(index, events)
    events.on_status("Looking for near duplicates (perceptual hash)…")
    bits = duplicates.phash_bits(thumbs.x)
    t_rows = np.asarray(thumbs.rows)
    near = [(int(t_rows[a]), int(t_rows[b]), s)
            for a, b, s in duplicates.near_pairs_phash(bits, thumbs.x, events)]
    near_method = {"method": "64-bit DCT perceptual hash and 16x16 thumbnails",
                   "max_bits": duplicates.PHASH_MAX_BITS, "max_mean_diff": duplicates.MAX_MEAN_DIFF}
    correct = None
    if run_dir:
        from training.features.embeddings import Embedder
        from training.inference.predict import Predictor

        predictor = Predictor(run_dir)
        if list(predictor.classes) != classes:
            raise runfolder.RunError(f"The run's classes {predictor.classes} differ from the dataset's "
                                f"{classes}; choose a run trained on this dataset.")
        events.on_status("Computing the model's features and predictions…")
        data, feats, probs = _model_pass(index, predictor, Embedder(predictor.model), events)
        probs = np.asarray(probs, np.float64)
        if retrain is None or retrain:
            k = folds or labels.RETRAIN_FOLDS
            reps = repeats or labels.RETRAIN_REPEATS
            oos = labels.cross_val_retrain(index, run_dir, k, seed, events, reps)[data.rows]
            oos = labels.with_run_predictions(oos, probs, data.splits)
            probs_method = labels.RETRAIN_METHOD.format(folds=k, repeats=reps)
        else:
            k = folds or 3
            events.on_status(f"Cross-validating on the model's features ({k} folds)…")
            oos = labels.out_of_sample(feats, probs, data.y, data.splits, c, k, seed, events)
            probs_method = labels.FEATURES_METHOD
        correct = np.zeros(len(index), bool)
        correct[data.rows] = probs.argmax(axis=1) == data.y
        events.on_status("Looking for near duplicates (model features)…")
        rows = np.asarray(data.rows)
        same_rows = len(t_rows) == len(rows) and np.array_equal(t_rows, rows)
        f_pairs, threshold = duplicates.near_pairs_features(
            feats, thumbs.x if same_rows else None, events)
        near += [(int(rows[a]), int(rows[b]), s) for a, b, s in f_pairs]
        near_method = {**near_method, "distance_threshold": threshold, "factor": duplicates.NEAR_FACTOR,
                       "method": near_method["method"] + "; cosine similarity of the model's "
                                 "penultimate features"}
    else:
        data = thumbs
        step = max(1, THUMB_SIZE[0] // PIXEL_FEATURES)
        pixels = data.x[:, ::step, ::step, 0].reshape(len(data.x), -1).astype(np.float32) / 255.0
        k = folds or 3
        events.on_status(f"Cross-validating a pixel classifier ({k} folds)…")
        oos = labels.cross_val_probabilities(pixels, data.y, c, k, seed, events)
        probs_method = "K-fold logistic regression on 16x16 thumbnails (no run given)"

    rows = np.asarray(data.rows)
    near = [(a, b, s) for a, b, s in near if hashes[a] is None or hashes[a] != hashes[b]]

    events.on_status("Ranking likely label errors (cleanlab)…")
    ranked, scores, flagged = labels.rank_label_issues(data.y, oos)
    probs_rows = np.zeros((len(index), c))
    probs_rows[rows] = oos
    score_rows = np.ones(len(index))
    score_rows[rows] = scores
    ranked_rows = rows[ranked]
    all_ranked = rows[np.argsort(scores, kind="stable")]
    result["label_issues"] = {
        "method": probs_method, "num_flagged": int(flagged.sum()),
        "items": labels.label_issue_items(ranked_rows, score_rows, index.labels, probs_rows, classes,
                                          index.paths, index.splits, limit),
        "ranked_rows": [int(r) for r in all_ranked[:max(limit, len(ranked_rows))]],
    }
    exact_groups = duplicates.group_pairs(len(index), exact)
    near_groups = duplicates.group_pairs(len(index), near)
    ex = duplicates.describe_groups(exact_groups, index.labels, index.splits, classes, index.paths)
    nr = duplicates.describe_groups(near_groups, index.labels, index.splits, classes, index.paths)
    result["duplicates"] = {
        "exact": {**duplicates.summarize_groups(ex), "items": ex[:limit]},
        "near": {**duplicates.summarize_groups(nr), **near_method, "items": nr[:limit]},
    }
    result["leakage"] = duplicates.leakage(exact_groups + near_groups, index.splits, correct)
    result["seconds"] = time.perf_counter() - t0
    return result


class _Samples(NamedTuple):
    """The decoded samples a check looked at: index ``rows`` (bad files left out), their
    labels and splits, and (for thumbnails) their pixels."""

    rows: np.ndarray
    y: np.ndarray
    splits: np.ndarray
    x: np.ndarray | None = None


def _samples(index, rows, x=None) -> _Samples:
    rows = np.asarray(rows, np.int64)
    return _Samples(rows, np.asarray(index.labels)[rows].astype(np.int32),
                    np.asarray(index.splits)[rows].astype(np.uint8), x)


def _thumbnails(index, events: Events) -> _Samples:
    """32x32 grey thumbnails of every decodable sample, read through the decoded-image
    store (filled first, with progress and stop). They are kept in memory on purpose:
    every pair is compared, and at 1 KB per image 100,000 images take 100 MB."""
    from training.data import open_images

    with open_images(index, THUMB_SIZE, "grayscale", events) as data:
        data.fill(events)
        x = np.empty((len(data.rows), *THUMB_SIZE, 1), np.uint8)
        kept_all, done = [], 0
        for part, kept in _read_here(data):
            x[done:done + len(part)] = part
            kept_all.append(kept)
            done += len(part)
    rows = np.concatenate(kept_all) if kept_all else np.zeros(0, np.int64)
    return _samples(index, rows, x[:done])


def _read_here(data, batch_size: int = 1024):
    """``(images, kept rows)`` of every row, read in the calling thread (bad files left
    out). No read-ahead thread: the store answers in microseconds, and under the app the
    caller is already a worker thread, where one more thread only adds garbage collections
    outside the GUI's control (Qt wrappers finalised off their thread crashed a GUI test)."""
    for s in range(0, len(data.rows), batch_size):
        yield data.read(data.rows[s:s + batch_size])


def _model_pass(index, predictor, emb, events: Events):
    """The run's penultimate features and probabilities of every sample, streamed batch by
    batch from the store (or decoded by the parallel reader, filling the store): only the
    features stay in memory."""
    from training.data import open_images

    with open_images(index, predictor.input_size, predictor.color_mode, events) as data:
        labels = np.asarray(index.labels)
        batches = ((x, labels[kept], kept) for x, kept in _read_here(data, emb.batch_size))
        got = emb.embed_batches(batches, len(data.rows), events, "computing the model's features")
    return _samples(index, got.rows), got.features, got.probabilities


def print_report(result: dict, out, top: int = 20) -> None:
    """The human-readable report of ``check_health`` (the CLI's output)."""
    print(f"{result['root']}: {result['num_samples']:,} images, {len(result['classes'])} classes"
          + (f", run {result['run_dir']}" if result["run_dir"] else ""), file=out)
    ov = result.get("overlay") or {}
    if ov.get("relabelled") or ov.get("excluded"):
        print(f"  label overlay: {ov['relabelled']} relabelled, {ov['excluded']} excluded", file=out)
    li = result["label_issues"]
    print(f"Likely label errors: {li['num_flagged']} ({li['method']})", file=out)
    for it in li["items"][:top]:
        print(f"  {it['score']:.3f}  {it['path']}  [{it['split']}] given {it['given']!r}, "
              f"suggested {it['suggested']!r} ({it['confidence']:.2f})", file=out)
    for kind in ("exact", "near"):
        d = result["duplicates"][kind]
        print(f"{kind.capitalize()} duplicates: {d['groups']} groups ({d['images']} images): "
              f"{d['within_class']} within a class, {d['across_classes']} with conflicting labels, "
              f"{d['across_splits']} across splits", file=out)
        for g in d["items"][:top]:
            print("  " + " = ".join(f"{m['path']} [{m['label']}, {m['split']}]" for m in g["members"]),
                  file=out)
    for name, lk in result["leakage"].items():
        if not lk["total"]:
            continue
        line = f"Leakage: {lk['with_train_copy']} of {lk['total']} {name} images have a copy in train"
        if lk.get("accuracy") is not None:
            without = lk.get("accuracy_without_copies")
            line += f"; {name} accuracy {lk['accuracy']:.4f}" + (
                f", {without:.4f} without them" if without is not None else "")
        print(line, file=out)
    for info in result["balance"].values():
        for w in info["warnings"]:
            print(f"Balance: {w}", file=out)
    o = result["outliers"]
    print(f"Outliers: {o.get('num_outliers', 0)} of {o['checked']} images", file=out)
    for it in o["items"][:top]:
        print(f"  {it['path']}: {'; '.join(it['reasons'])}", file=out)
