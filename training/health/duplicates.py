"""Exact and near duplicates, and the leakage they cause between splits.

Exact: a hash of the decoded pixels (through ``training.data.decode_image`` at the
file's own size, RGB), so a PNG copied under another name or saved as BMP/TIFF/lossless
WebP is the same image. Near, always: a 64-bit DCT perceptual hash (pHash) within
``PHASH_MAX_BITS`` bits whose 16x16
thumbnails also differ by at most ``MAX_MEAN_DIFF`` grey levels on average (the hash
alone matches many different shoes of Fashion-MNIST; measured on the bundled sample,
re-encoded JPEGs and copies resized by up to 7 % differ by <= 5.1, different images by
>= 6.0). With a run, also: the nearest neighbour of every image by cosine similarity of
the run's penultimate features, when its distance is below ``NEAR_FACTOR`` x the median
nearest-neighbour distance (cleanlab Datalab's rule) and the thumbnails differ by at most
``FEATURE_PIXEL_SLACK`` x ``MAX_MEAN_DIFF`` (a classifier's features collapse each class
towards one point, so feature distance alone matches any two images of a class).

Pairs are joined into groups, and each group is described by where its members lie:
within one class, across classes (conflicting labels), across splits (leakage).
"""
from __future__ import annotations

import hashlib
import logging

import numpy as np

from training.events import Events

log = logging.getLogger(__name__)

NEAR_FACTOR = 0.13
PHASH_MAX_BITS = 6
MAX_MEAN_DIFF = 5.5
FEATURE_PIXEL_SLACK = 3.0
PHASH_SIZE = 32  # images are reduced to 32x32 gray before the DCT (the classic pHash)
_CHUNK = 1024


def pixel_hashes(index, events: Events | None = None) -> list[str | None]:
    """One hash of the decoded pixels per sample (None where the file cannot be decoded)."""
    from training.data import DecodeError, decode_image

    events = events or Events()
    n = len(index)
    out: list[str | None] = [None] * n
    for i in range(n):
        if i % 64 == 0:
            events.check_stop()
            events.on_progress(i, n, "hashing pixels")
        try:
            if index.arrays is not None:
                img = np.ascontiguousarray(index.arrays[i])
                if img.ndim == 3 and img.shape[-1] == 1:
                    img = img[:, :, 0]
                if img.ndim == 2:
                    img = np.repeat(img[:, :, None], 3, axis=2)
            else:
                img = decode_image(index.paths[i], color_mode="rgb")
        except (DecodeError, OSError) as exc:
            log.info("not hashed: %s (%s)", index.paths[i], exc)
            continue
        h = hashlib.blake2b(repr(img.shape).encode(), digest_size=16)
        h.update(img.tobytes())
        out[i] = h.hexdigest()
    events.on_progress(n, n, "hashing pixels")
    return out


def exact_pairs(hashes: list[str | None]) -> list[tuple[int, int, float]]:
    """``(first, other, 1.0)`` for every sample whose pixels equal an earlier one's."""
    first: dict[str, int] = {}
    pairs = []
    for i, h in enumerate(hashes):
        if h is None:
            continue
        j = first.setdefault(h, i)
        if j != i:
            pairs.append((j, i, 1.0))
    return pairs


def phash_bits(gray: np.ndarray) -> np.ndarray:
    """64-bit DCT perceptual hashes ``(n, 64) bool`` of uint8 images ``(n, 32, 32[, 1])``:
    the 8x8 lowest frequencies of the 32x32 DCT (DC term included), each above or below
    their median."""
    import cv2

    g = np.asarray(gray)
    if g.ndim == 4:
        g = g[..., 0]
    out = np.zeros((len(g), 64), bool)
    for i, img in enumerate(g):
        d = cv2.dct(np.asarray(img, np.float32))[:8, :8].reshape(-1)
        out[i] = d > np.median(d[1:])
    return out


def nearest_neighbours(vectors: np.ndarray, events: Events | None = None,
                       what: str = "finding near duplicates") -> tuple[np.ndarray, np.ndarray]:
    """Each row's nearest other row by cosine similarity: ``(index, similarity)``.

    Computed in row chunks against all rows (memory ``_CHUNK x n``), with progress and
    a stop check per chunk.
    """
    events = events or Events()
    v = np.asarray(vectors, np.float32).reshape(len(vectors), -1)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    v = v / np.maximum(norms, 1e-12)
    n = len(v)
    nn = np.full(n, -1, np.int64)
    sim = np.full(n, -np.inf, np.float32)
    for start in range(0, n, _CHUNK):
        events.check_stop()
        block = v[start:start + _CHUNK] @ v.T
        block[np.arange(len(block)), np.arange(start, start + len(block))] = -np.inf
        nn[start:start + len(block)] = block.argmax(axis=1)
        sim[start:start + len(block)] = block.max(axis=1)
        events.on_progress(min(start + _CHUNK, n), n, what)
    return nn, sim


def near_pairs_features(features: np.ndarray, thumbs: np.ndarray | None = None,
                        events: Events | None = None,
                        factor: float = NEAR_FACTOR) -> tuple[list[tuple[int, int, float]], float]:
    """Near-duplicate pairs by the Datalab rule on cosine distance (confirmed on the
    thumbnails when given); returns the pairs ``(i, j, similarity)`` and the distance
    threshold used."""
    n = len(features)
    if n < 2:
        return [], 0.0
    nn, sim = nearest_neighbours(features, events)
    dist = 1.0 - sim
    threshold = float(factor * np.median(dist))
    small = _pool16(thumbs) if thumbs is not None else None
    pairs = set()
    for i, j in enumerate(nn):
        if not dist[i] < threshold:
            continue
        if small is not None and np.abs(small[i] - small[j]).mean() > FEATURE_PIXEL_SLACK * MAX_MEAN_DIFF:
            continue
        pairs.add((min(i, int(j)), max(i, int(j)), float(sim[i])))
    return sorted(pairs), threshold


def near_pairs_phash(bits: np.ndarray, thumbs: np.ndarray | None = None,
                     events: Events | None = None, max_bits: int = PHASH_MAX_BITS,
                     max_mean_diff: float = MAX_MEAN_DIFF) -> list[tuple[int, int, float]]:
    """Pairs whose perceptual hashes differ in at most ``max_bits`` of 64 bits (and, with
    ``thumbs`` (n, 32, 32[, 1]) uint8, whose 16x16 thumbnails differ by at most
    ``max_mean_diff`` on average); the third value is the share of equal hash bits.
    Every pair is compared (not only nearest neighbours): Hamming distance = (64 - dot of
    the +-1 codes) / 2, in row chunks."""
    events = events or Events()
    s = np.where(np.asarray(bits), 1.0, -1.0).astype(np.float32)
    small = _pool16(thumbs) if thumbs is not None else None
    n = len(s)
    pairs = []
    for start in range(0, n, _CHUNK):
        events.check_stop()
        block = s[start:start + _CHUNK] @ s.T
        ham = (64.0 - block) / 2.0
        ii, jj = np.nonzero(ham <= max_bits + 0.5)
        for a, b in zip(ii + start, jj):
            if a >= b:
                continue
            if small is not None and np.abs(small[a] - small[b]).mean() > max_mean_diff:
                continue
            pairs.append((int(a), int(b), float(1.0 - ham[a - start, b] / 64.0)))
        events.on_progress(min(start + _CHUNK, n), n, "comparing perceptual hashes")
    return pairs


def _pool16(thumbs: np.ndarray) -> np.ndarray:
    """(n, 16, 16) float32 means of (n, 32, 32[, 1]) uint8 thumbnails, a chunk at a time
    (the thumbnails may be a memory map; only 1 KB per image is kept)."""
    n = len(thumbs)
    out = np.empty((n, 16, 16), np.float32)
    for start in range(0, n, 4096):
        t = np.asarray(thumbs[start:start + 4096], np.float32)
        if t.ndim == 4:
            t = t[..., 0]
        k, h, w = t.shape
        out[start:start + k] = t.reshape(k, 16, h // 16, 16, w // 16).mean(axis=(2, 4))
    return out


def group_pairs(n: int, pairs) -> list[list[int]]:
    """Connected groups (2 or more members, sorted) of the pair graph (union-find)."""
    parent = list(range(n))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b, *_ in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for i in {x for a, b, *_ in pairs for x in (a, b)}:
        groups.setdefault(find(i), []).append(i)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])


def describe_groups(groups, labels, splits, classes, paths) -> list[dict]:
    """Gallery rows for duplicate groups: members with class and split, plus
    ``conflicting_labels`` and ``across_splits`` flags."""
    from training.data.index import SPLIT_NAMES

    out = []
    for g in groups:
        members = [{"row": int(r), "path": paths[r], "label": classes[int(labels[r])],
                    "split": SPLIT_NAMES[int(splits[r])]} for r in g]
        out.append({"members": members,
                    "conflicting_labels": len({m["label"] for m in members}) > 1,
                    "across_splits": len({m["split"] for m in members}) > 1})
    return out


def summarize_groups(described: list[dict]) -> dict:
    """Counts of groups within a class, across classes and across splits."""
    return {"groups": len(described),
            "images": sum(len(g["members"]) for g in described),
            "within_class": sum(not g["conflicting_labels"] for g in described),
            "across_classes": sum(g["conflicting_labels"] for g in described),
            "across_splits": sum(g["across_splits"] for g in described)}


def leakage(groups, splits, correct: np.ndarray | None = None) -> dict:
    """Test images with a copy (exact or near) in train, and test accuracy without them.

    Args:
        groups: duplicate groups (row lists) of every kind together.
        splits: split of every row.
        correct: per-row bool (the run's prediction equals the label), or None.
    """
    from training.data.index import TEST, TRAIN, VALIDATION

    splits = np.asarray(splits)
    leaked = np.zeros(len(splits), bool)
    for g in groups:
        g = np.asarray(g)
        if np.any(splits[g] == TRAIN):
            leaked[g[splits[g] != TRAIN]] = True
    out = {}
    for split, name in ((TEST, "test"), (VALIDATION, "validation")):
        in_split = splits == split
        info = {"total": int(in_split.sum()), "with_train_copy": int((leaked & in_split).sum()),
                "rows": [int(r) for r in np.flatnonzero(leaked & in_split)]}
        if correct is not None and in_split.any():
            keep = in_split & ~leaked
            info["accuracy"] = float(correct[in_split].mean())
            info["accuracy_without_copies"] = float(correct[keep].mean()) if keep.any() else None
        out[name] = info
    return out
