"""Plan a sort: classify every image under a folder with a run's model, batch by batch.

The plan says where each photo would go (``DEST/<class>/``, ``DEST/unknown/`` for what
the run's unknown rule answers) and which files could not be read and why; nothing on
disk changes here. :func:`training.sorting.apply.apply_sort` carries a plan out.

Memory stays flat whatever the folder's size: one batch of decoded images at the model's
input size is held at a time (the reader's ``decode_paths`` fills one preallocated
buffer); the plan itself keeps a path and a class name per photo.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import numpy as np

from training.data.index import BadFile
from training.data.reader import decode_paths
from training.data.scan import walk_images
from training.events import Events
from training.safefiles import inside

log = logging.getLogger(__name__)

UNKNOWN = "unknown"                 # DEST/unknown/: what the unknown rule answers
UNKNOWN_IF_TAKEN = "unknown (not sure)"   # when a class is itself called "unknown"
BATCH = 32
PLAN_SCHEMA = 1


class SortError(ValueError):
    """The sort cannot be planned, done or undone; the message names the folder or file."""


def folder_name(label: str, index: int) -> str:
    """A class name as one safe folder name: no separators, not ``.``/``..``, not empty
    (class names from a CSV may hold ``/``)."""
    name = str(label).replace("/", "_").replace("\\", "_").replace("\0", "").strip()
    name = name.rstrip(". ") if os.name == "nt" else name
    return name if name not in ("", ".", "..") else f"class_{index}"


def class_folders(classes: list[str]) -> tuple[list[str], str]:
    """The folder of each class and the folder for "unknown"."""
    names = [folder_name(c, i) for i, c in enumerate(classes)]
    unknown = UNKNOWN if UNKNOWN not in names else UNKNOWN_IF_TAKEN
    return names, unknown


@dataclass
class SortPlan:
    """Where each photo of ``source`` goes under ``dest``.

    Attributes:
        items: ``[(photo path, destination folder name)]`` in the order found.
        folders: the folder names in order: one per class, then the unknown folder.
        unreadable: ``[{path, reason}]``: image files that could not be read or decoded.
        skipped: ``[{path, reason}]``: other files and folders left where they are (not
            images, unreadable folders).
    """

    source: str
    dest: str
    run_dir: str
    folders: list[str]
    items: list[tuple[str, str]] = field(default_factory=list)
    unreadable: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Photos per destination folder, every folder listed (0 included), in order."""
        counts = dict.fromkeys(self.folders, 0)
        for _, folder in self.items:
            counts[folder] = counts.get(folder, 0) + 1
        return counts

    def to_dict(self) -> dict:
        return {"schema_version": PLAN_SCHEMA, "source": self.source, "dest": self.dest,
                "run_dir": self.run_dir, "folders": list(self.folders),
                "items": [[p, f] for p, f in self.items], "counts": self.counts(),
                "unreadable": list(self.unreadable), "skipped": list(self.skipped)}

    @classmethod
    def from_dict(cls, data: dict) -> SortPlan:
        """A plan sent back by the app (checked: every photo inside ``source``, every folder
        one of ``folders``)."""
        from training.safefiles import check_schema

        check_schema(data, "sort plan", PLAN_SCHEMA, error=SortError)
        try:
            plan = cls(str(data["source"]), str(data["dest"]), str(data.get("run_dir") or ""),
                       [str(f) for f in data["folders"]],
                       [(str(p), str(f)) for p, f in data["items"]],
                       list(data.get("unreadable") or []), list(data.get("skipped") or []))
        except (KeyError, TypeError, ValueError) as exc:
            raise SortError(f"Not a sort plan ({exc!r}).") from None
        plan.source, plan.dest = check_folders(plan.source, plan.dest)
        known = set(plan.folders)
        for path, folder in plan.items:
            if folder not in known or folder != folder_name(folder, 0) \
                    or not inside(plan.source, path):
                raise SortError(f"Not a sort plan: {path!r:.200} → {folder!r:.80} is not a photo "
                                f"of {plan.source} going to one of its folders.")
        return plan


def check_folders(source: str, dest: str) -> tuple[str, str]:
    """Absolute ``source`` and ``dest``, refused when the source is not a folder or the two
    are the same folder (or the destination holds the source)."""
    source, dest = os.path.abspath(source), os.path.abspath(dest)
    if not os.path.isdir(source):
        raise SortError(f"The folder to sort was not found (or is not a folder). "
                        f"Received: {source}")
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise SortError(f"The destination is a file, not a folder. Received: {dest}")
    if inside(source, dest) and inside(dest, source):
        raise SortError(f"The destination must be another folder than the one sorted. "
                        f"Received: {dest}")
    if inside(dest, source):
        raise SortError(f"The folder to sort ({source}) is inside the destination ({dest}): "
                        "choose a destination outside it.")
    return source, dest


def list_photos(source: str, dest: str) -> tuple[list[str], list[dict]]:
    """The image files under ``source`` (sorted; the destination's files left out when it
    lies inside the source), and the other entries skipped with the reason (hidden files
    and folders are skipped silently)."""
    bad: list[BadFile] = []
    files = walk_images(source, bad)
    if inside(source, dest):
        real_dest = os.path.realpath(dest)
        files = [f for f in files if not inside(real_dest, f)]
    skipped = [{"path": b.path, "reason": b.reason} for b in bad
               if not b.reason.startswith("hidden") and not inside(dest, b.path)]
    return files, skipped


def plan_sort(predictor, source: str, dest: str, events: Events | None = None,
              batch_size: int = BATCH) -> SortPlan:
    """Classify every image under ``source`` with ``predictor`` (a
    :class:`~training.inference.predict.Predictor`: its calibration and unknown rule apply).

    Raises:
        SortError: the folders cannot be used (see :func:`check_folders`), or the source
            holds no image files.
        Stopped: ``events`` asked to stop.
    """
    events = events or Events()
    source, dest = check_folders(source, dest)
    events.on_status(f"Listing the photos in {source}…")
    files, skipped = list_photos(source, dest)
    if not files:
        raise SortError(f"No image files in {source} (looked in sub-folders too; "
                        f"{len(skipped)} other file(s) found).")
    folders, unknown = class_folders(list(predictor.classes))
    plan = SortPlan(source, dest, getattr(predictor, "run_dir", ""), folders + [unknown],
                    skipped=skipped)
    h, w = predictor.input_size
    channels = 1 if predictor.color_mode == "grayscale" else 3
    buf = np.empty((batch_size, h, w, channels), np.uint8)   # the only images held
    total = len(files)
    for start in range(0, total, batch_size):
        events.check_stop()
        chunk = files[start:start + batch_size]
        good = []
        for i, reason in decode_paths(chunk, (h, w), predictor.color_mode, buf):
            if reason is None:
                good.append(i)
            else:
                plan.unreadable.append({"path": chunk[i], "reason": reason})
        if good:
            # decode_paths wrote good images at their own positions: pack them in front.
            order = np.asarray(good)
            assessed = predictor.assess_batch(buf[order])
            picks = np.argmax(assessed["probabilities"], axis=1)
            for n, i in enumerate(good):
                folder = unknown if assessed["unknown"][n] else folders[int(picks[n])]
                plan.items.append((chunk[i], folder))
        events.on_progress(min(start + batch_size, total), total, "Classifying photos")
    log.info("planned a sort of %d photo(s) from %s into %s (%d unreadable)", len(plan.items),
             source, dest, len(plan.unreadable))
    return plan
