"""Dataset jobs that must stay off the GUI thread: indexing (listing files, splitting,
sampling images for a suggested input size) and the preview. The up-front image check
is a compute-service request (``workbench.compute.requests.CheckImagesJob``)."""
from __future__ import annotations

import os

from workbench.workers.pool import PoolWorker


class IndexWorker(PoolWorker):
    """Runs ``training.data.open_dataset`` (and ``suggest_input``) for one ``DatasetSpec``.

    ``finished`` carries ``{"spec": DatasetSpec, "index": DatasetIndex,
    "suggestion": ((h, w), color_mode) | None}``; when a CSV's images folder is not
    found, ``index`` is None and ``ask_images`` holds ``{message, columns, folder}``.
    """

    def __init__(self, spec) -> None:
        super().__init__()
        self.spec = spec

    def work(self):
        from training.data import open_dataset
        from training.data.csvfolder import ImagesFolderNotFound

        self.events.on_status(f"Indexing {os.path.basename(str(self.spec.path)) or self.spec.path}…")
        try:
            index = open_dataset(self.spec, self.events)
        except ImagesFolderNotFound as exc:
            # Not a failure: the panel asks for the folder (and the columns).
            return {"spec": self.spec, "index": None, "suggestion": None,
                    "ask_images": {"message": str(exc), "columns": exc.columns,
                                   "folder": exc.tried[0] if exc.tried else ""}}
        index.names()   # computed here, not on the GUI thread (thumbnail grid)
        index.unlabelled_names()
        if index.unlabelled:   # the pool's overlay keys, asked on the first label given
            from training.data.overlay import LabelOverlay
            from training.data.pool import pool_keys

            pool_keys(index, LabelOverlay(root=index.root))
        self.events.check_stop()
        suggestion = None
        try:
            from training.data import suggest_input

            suggestion = suggest_input(index)
        except Exception:  # noqa: BLE001 - a suggestion is optional; the model panel has defaults
            suggestion = None
        return {"spec": self.spec, "index": index, "suggestion": suggestion}


class PreviewWorker(PoolWorker):
    """Decodes one image file for the large preview (bounded size) and stats it.

    ``finished`` carries ``{"path", "image": uint8 array | None, "width", "height", "bytes",
    "error"}`` (the GUI thread makes the pixmap); a bad file is reported in ``error``, not raised.
    """

    def __init__(self, path: str, box=640) -> None:
        super().__init__()
        self.path = path
        self.box = box

    def work(self):
        return preview_data(self.path, self.box)


def preview_data(path: str, box=640) -> dict:
    """``{"path", "image": uint8 array | None, "width", "height", "bytes", "error"}`` of one
    image file for the large preview, fitted in ``box`` (a side or ``(width, height)``: the
    preview's size; a bad file is reported in ``error``)."""
    from PIL import Image

    from training.data import decode_to_fit

    out = {"path": path, "image": None, "width": None, "height": None,
           "bytes": None, "error": ""}
    try:
        out["bytes"] = os.stat(path).st_size
        # The core's reasons on failure; big JPEGs decode at reduced resolution.
        out["image"] = decode_to_fit(path, box, enlarge=False)
        with Image.open(path) as img:
            w, h = img.size
            # EXIF orientations 5-8 rotate by 90 degrees: report the size as shown.
            if img.getexif().get(0x0112, 1) in (5, 6, 7, 8):
                w, h = h, w
        out["width"], out["height"] = w, h
    except OSError as exc:
        if out["image"] is None:
            out["error"] = f"cannot read file: {exc.strerror or 'unreadable'}"
    except Exception as exc:  # noqa: BLE001 - shown next to the preview, never raw text
        if out["image"] is None:
            out["error"] = getattr(exc, "reason", None) or "cannot be decoded"
    return out
