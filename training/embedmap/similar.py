""""More like this": the k training images whose features are nearest to a query's.

The distance is the cosine distance (1 - cosine similarity) between penultimate
features, the measure the near-duplicate check (``training.health.duplicates``) and the
"unknown" rule (``training.trust.unknown.normalize``) use too. The search is exact: one
matrix product of the query with the unit-length training features. On 70,000 training
images of 128 values that is a few milliseconds per query (docs/BENCHMARKS.md,
"Embedding map": exact search was under the 50 ms target with room to spare, so an
approximate index would only add a dependency, a build step and wrong answers).

    index = NeighbourIndex.from_store(store)          # the store's training split
    idx, dist = index.query(features, k=5)            # positions into store rows
    hits = index.neighbours(store, features, k=5, exclude=[...])  # plain dicts
"""
from __future__ import annotations

import numpy as np

from training.data.index import SPLIT_NAMES, TRAIN
from training.trust.unknown import normalize

CHUNK = 256   # query rows per matrix product: the (chunk, n) block and its sort stay ~200 MB at n = 54,000


class NeighbourIndex:
    """Exact cosine search over ``features`` (held unit-length in memory, float32).

    Args:
        features: ``(n, d)`` array-like (a memory map is read once).
        positions: what each row is called in the answers, ascending (default ``arange(n)``).
    """

    def __init__(self, features, positions=None):
        self.unit = normalize(np.asarray(features, np.float32)).astype(np.float32, copy=False)
        self.positions = (np.arange(len(self.unit)) if positions is None
                          else np.asarray(positions, np.int64))

    @classmethod
    def from_store(cls, store, split: int = TRAIN) -> "NeighbourIndex":
        """The training images of a ``RunFeatures`` (every image when it has none)."""
        pos = np.flatnonzero(np.asarray(store.splits) == split)
        if not len(pos):
            pos = np.arange(len(store))
        return cls(np.asarray(store.features[pos]), pos)

    def __len__(self) -> int:
        return len(self.unit)

    def query(self, features, k: int = 5, exclude=None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest rows to each query, nearest first.

        Args:
            features: ``(m, d)`` queries.
            exclude: per query, a position to leave out (the query itself when it is a
                training image), or -1 / None.

        Returns:
            ``(positions (m, k'), cosine distances (m, k'))`` with ``k' = min(k, n)``.
        """
        q = normalize(np.asarray(features, np.float32).reshape(len(features), -1))
        k = max(0, min(int(k), len(self.unit) - (1 if exclude is not None else 0)))
        m = len(q)
        out_i = np.zeros((m, k), np.int64)
        out_d = np.zeros((m, k), np.float32)
        if not k or not m:
            return out_i, out_d
        ex = None if exclude is None else np.asarray(exclude, np.int64).reshape(-1)
        for s in range(0, m, CHUNK):
            sim = q[s:s + CHUNK] @ self.unit.T
            if ex is not None:
                e = ex[s:s + CHUNK]
                col = np.minimum(np.searchsorted(self.positions, e), len(self.positions) - 1)
                hit = (e >= 0) & (self.positions[col] == e)
                sim[np.flatnonzero(hit), col[hit]] = -np.inf
            top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
            part = np.take_along_axis(sim, top, axis=1)
            order = np.argsort(-part, axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)
            out_i[s:s + CHUNK] = self.positions[top]
            out_d[s:s + CHUNK] = 1.0 - np.take_along_axis(part, order, axis=1)
        return out_i, np.clip(out_d, 0.0, 2.0)

    def neighbours(self, store, features, k: int = 5, exclude=None) -> list[list[dict]]:
        """Per query, ``[{path, label, split, distance, position}]`` nearest first."""
        idx, dist = self.query(features, k, exclude)
        classes = store.classes
        out = []
        for row_i, row_d in zip(idx, dist):
            out.append([{"path": str(store.paths[i]), "label": _name(classes, store.labels[i]),
                         "split": SPLIT_NAMES[int(store.splits[i])], "distance": float(d),
                         "position": int(i)} for i, d in zip(row_i, row_d)])
        return out


def knn_vote(index: NeighbourIndex, labels, features, k: int = 5, exclude=None) -> np.ndarray:
    """The majority label of each query's ``k`` nearest neighbours (ties: the nearest
    neighbour's label among the tied ones). ``labels[p]`` is the label of position ``p``."""
    idx, _ = index.query(features, k, exclude)
    lab = np.asarray(labels)[idx]
    votes = np.empty(len(lab), np.int64)
    for i, row in enumerate(lab):
        counts = np.bincount(row)
        best = np.flatnonzero(counts == counts.max())
        votes[i] = next(v for v in row if v in best)
    return votes


def _name(classes, label) -> str:
    label = int(label)
    return str(classes[label]) if 0 <= label < len(classes) else str(label)


def similar_to_paths(store, index: NeighbourIndex, paths, k: int, embed, images=None,
                     input_size=None, color_mode: str = "rgb") -> list[dict]:
    """"More like this" for each of ``paths``: ``[{path, neighbours, error}]``.

    A path of the store (a dataset image) uses its stored features and never lists itself;
    any other file is decoded at the model's input size and run through ``embed`` (a
    function from ``(m, h, w, c)`` uint8 images to ``(m, d)`` features).

    Args:
        images: per path, its uint8 pixels (an array dataset's sample) or None.
    """
    from training.data import DecodeError, decode_image, resize_to

    rows = store.row_of()
    out = [{"path": str(p), "neighbours": [], "error": None} for p in paths]
    known = [(i, rows[str(p)]) for i, p in enumerate(paths) if str(p) in rows]
    if known:
        pos = np.asarray([r for _, r in known], np.int64)
        hits = index.neighbours(store, np.asarray(store.features[pos]), k, exclude=pos)
        for (i, _), h in zip(known, hits):
            out[i]["neighbours"] = h
    fresh, pixels = [], []
    images = images or [None] * len(paths)
    for i, p in enumerate(paths):
        if str(p) in rows:
            continue
        try:
            arr = images[i]
            pixels.append(resize_to(arr, input_size, color_mode) if arr is not None
                          else decode_image(str(p), input_size, color_mode))
            fresh.append(i)
        except (DecodeError, OSError, ValueError) as exc:
            out[i]["error"] = getattr(exc, "reason", None) or str(exc)
    if fresh:
        feats = embed(np.stack(pixels))
        for i, h in zip(fresh, index.neighbours(store, feats, k)):
            out[i]["neighbours"] = h
    return out
