"""Class balance per split, and images unlike the rest in size, aspect ratio or colour mode.

Sizes and modes come from the file headers (no decoding; ``training.data.stats``). An
outlier is more than ``ROBUST_Z`` robust standard deviations (median absolute deviation
x 1.4826) from the median log area or log aspect ratio, or has a colour mode that fewer
than ``RARE_MODE`` of the images share.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from training.events import Events

ROBUST_Z = 4.0
RARE_MODE = 0.05
IMBALANCE_WARN = 3.0  # largest / smallest class in a split


def class_balance(index) -> dict:
    """``{split: {counts: {class: n}, imbalance: largest/smallest or None, warnings}}``."""
    out = {}
    for split, counts in index.counts().items():
        values = [v for v in counts.values()]
        total = sum(values)
        info = {"counts": counts, "total": total, "imbalance": None, "warnings": []}
        if total:
            nonzero = [v for v in values if v]
            info["imbalance"] = max(values) / min(nonzero) if nonzero else None
            empty = [c for c, v in counts.items() if v == 0]
            if empty:
                info["warnings"].append(f"{split}: no images of {', '.join(empty)}")
            if info["imbalance"] and info["imbalance"] >= IMBALANCE_WARN:
                big = max(counts, key=counts.get)
                small = min((c for c in counts if counts[c]), key=counts.get)
                info["warnings"].append(f"{split}: {big!r} has {info['imbalance']:.1f}x the images of "
                                        f"{small!r} ({counts[big]} vs {counts[small]})")
        out[split] = info
    return out


def _robust_z(values: np.ndarray) -> np.ndarray:
    med = np.median(values)
    mad = np.median(np.abs(values - med)) * 1.4826
    if mad < 1e-9:  # most images alike: anything different is an outlier
        return np.where(np.abs(values - med) > 1e-9, np.inf, 0.0)
    return (values - med) / mad


def outliers(index, events: Events | None = None, limit: int = 200) -> dict:
    """Images whose size, aspect ratio or colour mode is unlike the rest.

    Returns:
        ``{"checked", "items": [{row, path, width, height, mode, reasons: [..]}],
        "modes": {mode: n}, "median_size": [w, h]}``.
    """
    from training.data.stats import image_header

    events = events or Events()
    n = len(index)
    if index.arrays is not None:  # one array: every image has the same shape and mode
        return {"checked": n, "items": [], "modes": {}, "median_size": list(index.arrays.shape[1:3][::-1])}
    heads = []
    for i, p in enumerate(index.paths):
        if i % 256 == 0:
            events.check_stop()
            events.on_progress(i, n, "reading image headers")
        heads.append(image_header(p))
    events.on_progress(n, n, "reading image headers")
    ok = [i for i, h in enumerate(heads) if h]
    if not ok:
        return {"checked": 0, "items": [], "modes": {}, "median_size": None}
    w = np.array([heads[i][0] for i in ok], np.float64)
    h = np.array([heads[i][1] for i in ok], np.float64)
    modes = Counter(heads[i][2] for i in ok)
    z_area = _robust_z(np.log(np.maximum(w * h, 1)))
    z_aspect = _robust_z(np.log(np.maximum(w, 1) / np.maximum(h, 1)))
    med_w, med_h = float(np.median(w)), float(np.median(h))
    items = []
    for k, i in enumerate(ok):
        reasons = []
        if abs(z_area[k]) > ROBUST_Z:
            reasons.append(f"size {int(w[k])}x{int(h[k])} (most are about {int(med_w)}x{int(med_h)})")
        if abs(z_aspect[k]) > ROBUST_Z:
            reasons.append(f"aspect ratio {w[k] / h[k]:.2f} (most are {med_w / med_h:.2f})")
        mode = heads[i][2]
        if modes[mode] < RARE_MODE * len(ok):
            common = modes.most_common(1)[0][0]
            reasons.append(f"colour mode {mode} ({modes[mode]} of {len(ok)} images; most are {common})")
        if reasons:
            items.append({"row": i, "path": index.paths[i], "width": int(w[k]), "height": int(h[k]),
                          "mode": mode, "reasons": reasons})
    return {"checked": len(ok), "items": items[:limit], "num_outliers": len(items),
            "modes": dict(modes), "median_size": [int(med_w), int(med_h)]}
