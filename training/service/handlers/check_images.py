"""``check_images``: the Dataset panel's up-front pass: decode every file once with the
core's parallel reader (``training.data.verify_images``), which fills the decoded-image
store and finds the corrupt, truncated, empty and non-image files indexing cannot see.
Its 32 read threads and the decoding run here, not in the window's process."""
from __future__ import annotations

from training.service.registry import handler


@handler("check_images", lane="batch", tensorflow=False)
def check_images(request, dataset: dict) -> dict:
    """``dataset``: a ``DatasetSpec`` dict. Returns ``{"bad": [{row, path, reason}]}``: the
    files this pass found (the app adds them to its own index with
    ``training.data.images.record_bad``)."""
    from training.data import DatasetSpec, open_dataset, verify_images

    index = open_dataset(DatasetSpec.from_dict(dataset), request)
    rows = {p: i for i, p in enumerate(index.paths)}
    found = verify_images(index, request)
    return {"bad": [{"row": rows.get(b.path), "path": b.path, "reason": b.reason} for b in found]}
