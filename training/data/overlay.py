"""The label overlay: the user's fixes to a dataset (relabel, exclude), never the files.

A dataset's images stay byte-identical; what the user changes is kept in
``<dataset folder>/.workbench/labels.json``, or, when that folder is read-only, in the
app's data folder under a name keyed by the dataset's absolute path. ``open_dataset``
applies the overlay, so the GUI, ``python -m training train`` and evaluation all see the
same corrected labels; every run's ``dataset.json`` records the overlay's summary.

Entries are keyed by the sample's path relative to the dataset folder (forward slashes),
so an overlay survives moving the whole dataset. Array sources key by ``"<file>#<row>"``.

Label fixes that come with a dataset are never applied silently (issue 25). Every overlay
this app saves is signed with this user's key (``training.data.provenance``); one that is
not (a dataset from someone else, or saved by a version before the signing) was *made
elsewhere*, and :func:`trusted_overlay` applies it only once the user answered "apply"
(the GUI asks once; the CLI takes ``--accept-dataset-labels``). An entry whose path leaves
the dataset folder (``../x``, ``/etc/x``) is ignored with a warning, and a ``.workbench``
folder that is a link out of the dataset is neither read nor written.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field

from training import safefiles
from training.safefiles import check_schema
from training.userdirs import user_folder

from .classedits import ClassEdits

log = logging.getLogger(__name__)

# 2: classes made, renamed and deleted in the app (``classes``, training.data.classedits);
# a version-1 file reads as one with no class edits and is saved as version 2.
SCHEMA_VERSION = 2
OVERLAY_DIR = ".workbench"
OVERLAY_FILE = "labels.json"
MAX_OVERLAY_BYTES = 64 * safefiles.MiB   # ~1 million fixes; a real overlay is far smaller
COMPACT_ABOVE = 500                      # entries; a bigger overlay file is written compact
SET_ASIDE_DIR = "set-aside"              # label files made elsewhere that the user's replaced


class OverlayError(ValueError):
    """An overlay file is malformed or newer than this version, or a fix names an
    unknown class."""


def app_data_dir() -> str:
    """``$WORKBENCH_DATA_DIR``, else the user's data folder + ``image-workbench``."""
    return user_folder("data")


def dataset_folder(root: str) -> str:
    """The folder the overlay belongs to: ``root`` itself, or the folder of a dataset file
    (a ``.csv``, ``.npz`` or IDX file)."""
    root = os.path.abspath(root)
    return root if os.path.isdir(root) else os.path.dirname(root)


def beside_path(root: str) -> str:
    return os.path.join(dataset_folder(root), OVERLAY_DIR, OVERLAY_FILE)


def workbench_folder_safe(root: str) -> bool:
    """False when the dataset's ``.workbench`` folder is a link that leads out of the
    dataset: then nothing is read from it or written to it (a shared dataset must not
    point this app's writes at a folder elsewhere)."""
    folder = dataset_folder(root)
    return safefiles.inside(folder, os.path.join(folder, OVERLAY_DIR))


def fallback_path(root: str) -> str:
    key = hashlib.sha256(os.path.abspath(root).encode("utf-8", "surrogatepass")).hexdigest()[:20]
    return os.path.join(app_data_dir(), "overlays", f"{key}.json")


def folder_writable(folder: str) -> bool:
    """Whether a file can be created in ``folder`` (tried, not guessed from mode bits)."""
    if not workbench_folder_safe(folder):
        return False
    target = os.path.join(folder, OVERLAY_DIR)
    try:
        os.makedirs(target, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=target, prefix=".probe")
        os.close(fd)
        os.remove(probe)
        return True
    except OSError:
        return False


@dataclass
class LabelOverlay:
    """The fixes for one dataset.

    Attributes:
        root: the dataset path (as ``DatasetIndex.root``).
        labels: ``{relative key: class name}`` for relabelled samples.
        excluded: relative keys of samples left out of training and evaluation.
        path: the file this overlay was read from / is saved to (None: not chosen yet).
        made_here: the file carries this user's signature (or there is no file yet).
        outside: entries of the file whose path leaves the dataset (ignored, not kept).
        set_aside: a label file made elsewhere that the user chose to ignore; the first
            save keeps a copy of it in the app data folder before replacing it.
    """

    root: str
    labels: dict[str, str] = field(default_factory=dict)
    excluded: set[str] = field(default_factory=set)
    path: str | None = None
    schema_version: int = SCHEMA_VERSION
    made_here: bool = True
    outside: list[str] = field(default_factory=list)
    set_aside: str | None = None
    classes: ClassEdits = field(default_factory=ClassEdits)

    # -- keys ----------------------------------------------------------------------------
    def key(self, sample_path: str) -> str:
        """The overlay key of a sample path (absolute or already relative)."""
        p = str(sample_path)
        # Asked for every image of a 70,000-image pool and on every key press while
        # labelling: a path under the dataset folder is cut, not run through relpath.
        prefix = self.__dict__.get("_prefix")
        if prefix is None or prefix[0] != self.root:
            prefix = (self.root, os.path.join(dataset_folder(self.root), ""))
            self.__dict__["_prefix"] = prefix
        if p.startswith(prefix[1]) and os.sep + ".." not in p:
            return p[len(prefix[1]):].replace(os.sep, "/")
        folder = dataset_folder(self.root)
        if os.path.isabs(p):
            p = os.path.relpath(p, folder)
        return p.replace(os.sep, "/")

    def absolute(self, key: str) -> str:
        return os.path.join(dataset_folder(self.root), key.replace("/", os.sep))

    # -- edits (each returns nothing; undo goes through state()/set_state()) -------------
    def state(self, sample_path: str) -> tuple[str | None, bool]:
        """``(relabelled class or None, excluded)`` of one sample."""
        k = self.key(sample_path)
        return self.labels.get(k), k in self.excluded

    def set_state(self, sample_path: str, label: str | None, excluded: bool) -> None:
        """Set one sample's overlay state exactly (what undo/redo replay)."""
        k = self.key(sample_path)
        if label is None:
            self.labels.pop(k, None)
        else:
            self.labels[k] = str(label)
        if excluded:
            self.excluded.add(k)
        else:
            self.excluded.discard(k)

    def relabel(self, sample_path: str, label: str, original: str | None = None) -> None:
        """Give a sample the class ``label``; relabelling to its ``original`` class
        removes the override instead of storing a no-op."""
        k = self.key(sample_path)
        if original is not None and label == original:
            self.labels.pop(k, None)
        else:
            self.labels[k] = str(label)

    def exclude(self, sample_path: str) -> None:
        self.excluded.add(self.key(sample_path))

    def restore(self, sample_path: str) -> None:
        """Back to the source's label, included."""
        self.set_state(sample_path, None, False)

    def __len__(self) -> int:
        return len(set(self.labels) | self.excluded) + len(self.classes)

    # -- classes (training.data.classedits); ``source``: the dataset's own classes ---------
    def add_class(self, name: str, source) -> str:
        """Make a class with no images yet; returns its name as kept (stripped)."""
        return self.classes.add(name, source)

    def rename_class(self, old: str, new: str, source) -> str:
        """Rename a class (a class folder is mapped, never renamed on disk); the label
        fixes naming it follow."""
        new = self.classes.rename(old, new, source)
        for k, v in self.labels.items():
            if v == old:
                self.labels[k] = new
        return new

    def delete_class(self, name: str, source) -> int:
        """Delete a class: its images become unlabelled (files untouched). Returns how many
        label fixes named it (they are dropped)."""
        self.classes.delete(name, source)
        dropped = [k for k, v in self.labels.items() if v == name]
        for k in dropped:
            del self.labels[k]
        return len(dropped)

    def class_names(self, source) -> list[str]:
        """The dataset's classes with this overlay's class edits."""
        return self.classes.names(source)

    # -- files ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"schema_version": SCHEMA_VERSION, "root": os.path.abspath(self.root),
                "labels": dict(sorted(self.labels.items())), "excluded": sorted(self.excluded),
                "classes": self.classes.to_dict()}

    def digest(self) -> str:
        # sort_keys orders the labels as the file does (no second sort: this runs on every
        # label given in the app).
        content = {"labels": self.labels, "excluded": sorted(self.excluded)}
        if len(self.classes):   # without class edits, the digest of a version-1 file
            content["classes"] = self.classes.to_dict()
        text = json.dumps(content, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def summary(self) -> dict:
        """What a run's ``dataset.json`` records (plain data)."""
        return {"path": self.path, "relabelled": len(self.labels), "excluded": len(self.excluded),
                "class_edits": len(self.classes), "digest": self.digest()}

    def save(self) -> str:
        """Write atomically and signed (``training.data.provenance``) beside the dataset,
        or to the app data folder when the dataset's folder is read-only or its
        ``.workbench`` leads out of it. Returns the path written."""
        write_snapshot(self.snapshot())
        log.info("label overlay saved: %s (%d relabelled, %d excluded)", self.path,
                 len(self.labels), len(self.excluded))
        return self.path

    def snapshot(self) -> dict:
        """What :meth:`save` writes, as plain data for :func:`write_snapshot` (which may run
        on another thread): ``{"path", "data", "indent"}``. Chooses the file as ``save``
        does (and keeps the copy of a set-aside file first), so ``path`` is known at once."""
        if self.path is None or not _can_write_file(self.path) or (
                self.path == beside_path(self.root) and not workbench_folder_safe(self.root)):
            self.path = beside_path(self.root) if folder_writable(dataset_folder(self.root)) \
                else fallback_path(self.root)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        if self.set_aside:
            _keep_copy(self.set_aside, self.root)
            self.set_aside = None
        # One entry a line reads well, but Python's indenting encoder is ~20x slower than
        # the compact one: a big overlay (rewritten on every label given) is compact.
        big = len(self.labels) + len(self.excluded) > COMPACT_ABOVE
        self.made_here = True
        return {"path": self.path, "data": self.to_dict(), "indent": None if big else 1}

    @classmethod
    def from_dict(cls, data, root: str, path: str | None = None) -> LabelOverlay:
        where = path or "label overlay"
        if not isinstance(data, dict):
            raise OverlayError(f"{where}: expected a JSON object. Received: {type(data).__name__}")
        data = migrate(data, check_schema(data, "label overlay", SCHEMA_VERSION, where=path,
                                          error=OverlayError))
        labels = data.get("labels", {})
        excluded = data.get("excluded", [])
        if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in labels.items()):
            raise OverlayError(f"{where}: 'labels' must map sample paths to class names.")
        if not isinstance(excluded, list) or not all(isinstance(k, str) for k in excluded):
            raise OverlayError(f"{where}: 'excluded' must be a list of sample paths.")
        # A key names a file of the dataset: one that leaves it (../x, /etc/x) is ignored.
        outside = sorted({k for k in (*labels, *excluded) if not _stays_inside(k)})
        if outside:
            labels = {k: v for k, v in labels.items() if _stays_inside(k)}
            excluded = [k for k in excluded if _stays_inside(k)]
            log.info("%s: %d entries name paths outside the dataset and are ignored: %s",
                     where, len(outside), ", ".join(outside[:5]))
        edits = ClassEdits.from_dict(data.get("classes"), where, OverlayError)
        return cls(root=root, labels=dict(labels), excluded=set(excluded), path=path,
                   outside=outside, classes=edits)


def migrate(data: dict, version: int) -> dict:
    """An overlay file's object in the newest schema: version 1 had no class edits."""
    if version == 1:
        data = {**data, "schema_version": 2,
                "classes": {"added": [], "renamed": {}, "deleted": []}}
    return data


def _stays_inside(key: str) -> bool:
    return safefiles.lexically_inside(key.split("#", 1)[0])


def _can_write_file(path: str) -> bool:
    folder = os.path.dirname(path)
    return os.path.isdir(folder) and os.access(folder, os.W_OK)


def _keep_copy(path: str, root: str) -> None:
    """Copy a label file made elsewhere to the app data folder before it is replaced."""
    try:
        data = safefiles.read_bytes(path, MAX_OVERLAY_BYTES, within=dataset_folder(root))
    except safefiles.UntrustedFileError as exc:
        log.info("not keeping a copy of %s: %s", path, exc)
        return
    name = os.path.basename(fallback_path(root))[:-5] + "-" + hashlib.sha256(data).hexdigest()[:12]
    target = os.path.join(app_data_dir(), "overlays", SET_ASIDE_DIR, name + ".json")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as f:
        f.write(data)
    log.info("kept the label fixes made elsewhere (%s) as %s before replacing them", path, target)


def load_overlay(root: str) -> LabelOverlay:
    """The overlay file of the dataset at ``root`` as it is (an empty one when there is
    none), with ``made_here`` and ``outside`` set. Which fixes to *apply* is
    :func:`trusted_overlay`'s answer.

    Raises:
        OverlayError: the file exists but is malformed, too large, from a newer version,
            or the dataset's ``.workbench`` folder is a link out of the dataset.
    """
    from training.data.provenance import made_here

    beside = beside_path(root)
    if os.path.lexists(os.path.join(dataset_folder(root), OVERLAY_DIR)) \
            and not workbench_folder_safe(root):
        raise OverlayError(f"{os.path.dirname(beside)} is a link out of the dataset "
                           f"(to {os.path.realpath(os.path.dirname(beside))}); its label fixes "
                           "are not read and nothing is written there.")
    for path, within in ((beside, dataset_folder(root)), (fallback_path(root), None)):
        if os.path.lexists(path):
            try:
                data = safefiles.read_json(path, MAX_OVERLAY_BYTES, within=within)
            except safefiles.UntrustedFileError as exc:
                raise OverlayError(f"cannot read the label overlay: {exc}") from None
            overlay = LabelOverlay.from_dict(data, root, path)
            overlay.made_here = made_here(data)
            return overlay
    return LabelOverlay(root=root)




def write_snapshot(snapshot: dict) -> None:
    """Write a :meth:`LabelOverlay.snapshot` signed and atomically (any thread: plain data in)."""
    from training.data.provenance import sign

    safefiles.write_json(snapshot["path"], sign(snapshot["data"]), indent=snapshot["indent"])

