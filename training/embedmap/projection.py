"""The 2-D map of a run's features: a PCA preview in about a second, then UMAP.

PCA is computed from the covariance, accumulated chunk by chunk over the memory-mapped
features (never a second copy of them). The final map runs UMAP (``umap-learn``) on the
features reduced to at most :data:`UMAP_INPUT_DIMS` principal components, which keeps its
neighbour search fast; docs/BENCHMARKS.md ("Embedding map") has the measured times on
70,000 Fashion-MNIST images and why UMAP was kept.

Both maps are cached in the run folder (``map.npz``), tied to the feature store they were
computed from; a new store (a retrained model) makes them stale.

    xy = pca_2d(store.features)                          # (n, 2) float32
    xy = final_map(store.features, events)               # UMAP, with progress
    m = ensure_map(store, events, final=True)            # cached: {"preview", "final", ...}
"""
from __future__ import annotations

import logging
import os
import re
import time

import numpy as np

from training import safefiles
from training.events import Events, Stopped
from training.runs.runfolder import RunFolder

log = logging.getLogger(__name__)

CHUNK = 8192
UMAP_INPUT_DIMS = 50
UMAP_NEIGHBORS = 15
UMAP_MIN_DIST = 0.1
# Layout epochs: UMAP's default for more than 10,000 points is 200; 120 brought the 70,000-image
# Fashion-MNIST map under 2 minutes on 2 shared cores (docs/BENCHMARKS.md, "Embedding map").
UMAP_EPOCHS = 120
METHOD_PREVIEW = "pca"
METHOD_FINAL = "umap"


def pca_basis(features, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """``(mean (d,), components (d, dims))`` of ``features``' top principal components,
    from the covariance accumulated ``CHUNK`` rows at a time (float64)."""
    n, d = features.shape
    total = np.zeros(d, np.float64)
    gram = np.zeros((d, d), np.float64)
    for s in range(0, n, CHUNK):
        x = np.asarray(features[s:s + CHUNK], np.float64)
        total += x.sum(axis=0)
        gram += x.T @ x
    mean = total / max(n, 1)
    cov = gram / max(n, 1) - np.outer(mean, mean)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1][:dims]
    comps = vecs[:, order]
    # A fixed sign per axis (the largest loading positive): the same data gives the same map.
    signs = np.sign(comps[np.abs(comps).argmax(axis=0), np.arange(comps.shape[1])])
    comps = comps * np.where(signs == 0, 1.0, signs)
    return mean, comps


def pca_project(features, dims: int = 2) -> np.ndarray:
    """``features`` projected on their top ``dims`` principal components: ``(n, dims)``
    float32, computed chunk by chunk."""
    n, d = features.shape
    dims = min(dims, d)
    mean, comps = pca_basis(features, dims)
    out = np.empty((n, dims), np.float32)
    for s in range(0, n, CHUNK):
        out[s:s + CHUNK] = (np.asarray(features[s:s + CHUNK], np.float64) - mean) @ comps
    return out


def pca_2d(features) -> np.ndarray:
    """The preview map: the first two principal components (zeros for < 2 points)."""
    if len(features) < 2:
        return np.zeros((len(features), 2), np.float32)
    xy = pca_project(features, 2)
    if xy.shape[1] < 2:
        xy = np.concatenate([xy, np.zeros((len(xy), 1), np.float32)], axis=1)
    return xy


class _EpochProgress:
    """A file for UMAP's progress bar (tqdm): turns "12/200" into ``on_progress`` and
    raises :class:`Stopped` at the next epoch once a stop is requested (UMAP's epoch loop
    is Python, so the exception ends the fit)."""

    _COUNT = re.compile(r"(\d+)/(\d+)")

    def __init__(self, events: Events, what: str):
        self.events, self.what = events, what

    def write(self, text: str) -> int:
        self.events.check_stop()
        hits = self._COUNT.findall(text)
        if hits:
            done, total = map(int, hits[-1])
            self.events.on_progress(done, total, self.what)
        return len(text)

    def flush(self) -> None:
        pass


def final_map(features, events: Events | None = None, seed: int | None = None) -> np.ndarray:
    """The final 2-D map: UMAP on the features reduced to at most 50 principal components.

    Args:
        seed: a fixed seed makes the map repeatable but runs UMAP on one thread; None
            (the default) uses every core.

    Raises:
        Stopped: a stop was requested (checked every epoch).
    """
    events = events or Events()
    n = len(features)
    if n < 4:   # UMAP needs a few neighbours; a handful of points is its own map
        return pca_2d(features)
    os.environ.setdefault("NUMBA_CACHE_DIR", _numba_cache())
    events.on_status("Reducing the features (PCA)…")
    x = pca_project(features, UMAP_INPUT_DIMS) if features.shape[1] > UMAP_INPUT_DIMS \
        else np.asarray(features, np.float32)
    events.check_stop()
    events.on_status("Preparing UMAP (the first map compiles it: ~30 s)…")
    t0 = time.perf_counter()
    import umap   # slow import (numba): only here, in the compute service or the CLI

    events.on_status("Finding each image's neighbours (UMAP)…")
    reducer = umap.UMAP(n_neighbors=min(UMAP_NEIGHBORS, n - 1), min_dist=UMAP_MIN_DIST,
                        n_components=2, random_state=seed, low_memory=True,
                        n_epochs=UMAP_EPOCHS if n > 10_000 else None,
                        tqdm_kwds={"disable": False, "file": _EpochProgress(
                            events, "Laying out the map (UMAP)"), "mininterval": 0.2})
    xy = reducer.fit_transform(x).astype(np.float32)
    log.info("UMAP map of %d points in %.1f s", n, time.perf_counter() - t0)
    return xy


def _numba_cache() -> str:
    """A writable folder for numba's compiled functions (the second map skips the JIT)."""
    from training.data.cache import cache_dir

    path = os.path.join(cache_dir(), "numba")
    os.makedirs(path, exist_ok=True)
    return path


# -- the cache in the run folder --------------------------------------------------------
def read_map(store) -> dict | None:
    """The cached map of ``store`` (a ``RunFeatures``): ``{"preview", "final" | None,
    "method"}``, or None when there is none for this store."""
    path = RunFolder(store.run_dir).map_npz
    if not path.is_file():
        return None
    try:
        safefiles.check_archive(path, len(store) * 32 + 65536)
        with np.load(path, allow_pickle=False) as z:
            if str(z["stamp"]) != store.stamp:
                return None
            preview = z["preview"]
            final = z["final"] if "final" in z.files else None
    except (OSError, ValueError, KeyError, safefiles.UntrustedFileError) as exc:
        log.warning("Ignored the cached map %s: %s", path, exc)
        return None
    if preview.shape != (len(store), 2) or (final is not None and final.shape != preview.shape):
        return None
    return {"preview": preview, "final": final,
            "method": METHOD_FINAL if final is not None else METHOD_PREVIEW}


def write_map(store, preview: np.ndarray, final: np.ndarray | None) -> None:
    arrays = {"preview": np.asarray(preview, np.float32), "stamp": np.asarray(store.stamp)}
    if final is not None:
        arrays["final"] = np.asarray(final, np.float32)
    with safefiles.atomic_path(RunFolder(store.run_dir).map_npz) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def ensure_map(store, events: Events | None = None, final: bool = True,
               on_preview=None) -> dict:
    """The run's map, from the cache or computed (and cached).

    Args:
        final: compute the UMAP map too (else the PCA preview is enough).
        on_preview: called with the preview ``(n, 2)`` as soon as it exists, before UMAP.

    Returns:
        ``{"preview", "final" | None, "method", "cached": bool}``.
    """
    events = events or Events()
    cached = read_map(store) or {}
    preview = cached.get("preview")
    if preview is None:
        events.on_status("Computing the PCA preview…")
        preview = pca_2d(store.features)
        write_map(store, preview, None)
    if on_preview is not None:
        on_preview(preview)
    result = cached.get("final")
    if final and result is None:
        try:
            result = final_map(store.features, events)
        except Stopped:
            raise
        write_map(store, preview, result)
    return {"preview": preview, "final": result, "cached": bool(cached),
            "method": METHOD_FINAL if result is not None else METHOD_PREVIEW}
