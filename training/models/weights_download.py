"""Downloading ImageNet backbone weights into the Keras cache, only when asked.

The app never goes online by itself: this module runs only when a person presses
"Download ImageNet weights" in the Model panel or passes ``--download-weights`` to the
CLI. It fetches the file ``keras.applications`` would fetch, from the same address, into
the same place (``$KERAS_HOME/models`` or ``~/.keras/models``), so Keras and the app then
find it offline.

- Atomic: bytes go to ``<file>.part``, which is renamed only after the checksum passed;
  a cancel, a network error or a bad checksum removes the ``.part`` file.
- Checksums are the hashes Keras publishes with its applications (``file_hash`` in
  ``keras/src/applications/*.py``; a test compares them): EfficientNetB0 and ResNet50.
  Keras publishes none for the MobileNetV2 files (``mobilenet_v2.py`` calls ``get_file``
  without ``file_hash``), so those are NOT checksum-verified: they are only checked to be
  complete (every byte the server announced, and an HDF5 file h5py can open and read to
  the end). :attr:`WeightsFile.check_note` says which, and the GUI and CLI show it.
- ``$WORKBENCH_WEIGHTS_URL`` replaces the download address (a mirror, or a local test
  server); the file name is appended to it.

No Qt and no TensorFlow here (``urllib`` and ``hashlib``); the GUI runs :func:`download`
in a worker thread.
"""
from __future__ import annotations

import hashlib
import logging
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Callable

from training.models.backbones import BACKBONES, backbone_weights_file, keras_cache_dir

log = logging.getLogger(__name__)

BASE_URL_ENV = "WORKBENCH_WEIGHTS_URL"
CHUNK = 64 * 1024
# keras/src/applications/{efficientnet,resnet}.py WEIGHTS_HASHES[...][1] (the no-top
# file); md5, as Keras' file_hash "auto" picks for 32 hex digits.
KERAS_NOTOP_HASHES = {
    "efficientnet_b0": "50bc09e76180e00e4465e1a485ddc09d",
    "resnet50": "4d473c1dd8becc155b73f8504c6f6626",
}
# Approximate sizes, for the button's label before anything is downloaded (the real
# size comes from the server's Content-Length).
_APPROX_MB = {"efficientnet_b0": 16.7, "resnet50": 94.7}
_MOBILENET_V2_MB = 9.4  # alpha 1.0; the file grows with alpha squared


class DownloadError(Exception):
    """The weights could not be downloaded (the message says why and what to do).

    Attributes:
        offline: the server could not be reached at all (no network, DNS, refused).
    """

    def __init__(self, message: str, offline: bool = False):
        super().__init__(message)
        self.offline = offline


class DownloadCancelled(DownloadError):
    """The person cancelled; the partial file was removed."""


@dataclass(frozen=True)
class WeightsFile:
    """One ImageNet weights file: where it comes from and where it goes.

    Attributes:
        backbone: a key of ``BACKBONES``.
        file_name: the name ``keras.applications`` uses.
        url: the full download address.
        file_hash: Keras' published md5/sha256, or ``None`` (MobileNetV2).
        approx_mb: roughly how big it is, for labels.
        dest: the path in the Keras cache.
    """

    backbone: str
    file_name: str
    url: str
    file_hash: str | None
    approx_mb: float
    dest: str

    @property
    def source(self) -> str:
        """The host it is downloaded from (shown next to the button)."""
        return urllib.parse.urlsplit(self.url).netloc or self.url

    @property
    def present(self) -> bool:
        return os.path.isfile(self.dest)

    @property
    def verified(self) -> bool:
        """True when the download is checked against a checksum Keras publishes."""
        return bool(self.file_hash)

    @property
    def check_note(self) -> str:
        """What the download is checked against, in words (shown next to the button and
        printed by the CLI), so nobody takes a completeness check for a checksum."""
        if self.verified:
            return (f"checksum-verified: checked against Keras' published "
                    f"{hash_algorithm(self.file_hash)} hash")
        return (f"not checksum-verified: Keras publishes no checksum for the "
                f"{BACKBONES[self.backbone].label} weights, so only completeness is checked "
                "(every announced byte, and a readable HDF5 file)")

    def describe(self) -> str:
        return (f"{BACKBONES[self.backbone].label} ImageNet weights, about "
                f"{self.approx_mb:.0f} MB, from {self.source}")

    def to_dict(self) -> dict:
        return {"backbone": self.backbone, "file_name": self.file_name, "url": self.url,
                "file_hash": self.file_hash, "approx_mb": self.approx_mb, "dest": self.dest,
                "source": self.source, "present": self.present, "verified": self.verified,
                "check_note": self.check_note}


def weights_file(backbone: str, input_size=None, alpha: float = 1.0,
                 base_url: str | None = None) -> WeightsFile:
    """The ImageNet no-top weights file of a backbone (see :class:`WeightsFile`).

    Args:
        backbone: ``mobilenet_v2``, ``efficientnet_b0`` or ``resnet50``.
        input_size, alpha: as in the spec (MobileNetV2 has one file per size and width).
        base_url: replaces the Keras address (default: ``$WORKBENCH_WEIGHTS_URL`` when
            set, else the one ``keras.applications`` uses).
    """
    name = backbone_weights_file(backbone, input_size, alpha)  # SpecError if unknown
    base = base_url or os.environ.get(BASE_URL_ENV) or BACKBONES[backbone].url
    url = base.rstrip("/") + "/" + name
    approx = (_MOBILENET_V2_MB * float(alpha) ** 2 if backbone == "mobilenet_v2"
              else _APPROX_MB[backbone])
    dest = os.path.join(keras_cache_dir(), "models", name)
    return WeightsFile(backbone, name, url, KERAS_NOTOP_HASHES.get(backbone), approx, dest)


def file_digest(path: str, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def hash_algorithm(file_hash: str) -> str:
    """Keras' rule (``file_utils.resolve_hasher``): 64 hex digits sha256, else md5."""
    return "sha256" if len(file_hash) == 64 else "md5"


def download(wf: WeightsFile, progress: Callable[[int, int], None] | None = None,
             should_stop: Callable[[], bool] | None = None, timeout: float = 30.0) -> str:
    """Downloads ``wf`` into the Keras cache and returns its path.

    Args:
        wf: from :func:`weights_file`.
        progress: called as ``progress(bytes_done, bytes_total)`` after each chunk
            (``bytes_total`` is 0 when the server sends no length).
        should_stop: polled between chunks; True cancels.
        timeout: seconds to wait for the server to connect or send.

    Returns:
        ``wf.dest``.

    Raises:
        DownloadCancelled: ``should_stop`` returned True (the ``.part`` file is removed).
        DownloadError: offline (``.offline``), an HTTP error, a short read, a bad
            checksum, or the cache folder can't be written; nothing is left behind.
    """
    os.makedirs(os.path.dirname(wf.dest), exist_ok=True)
    part = wf.dest + ".part"
    log.info("Downloading %s to %s", wf.url, wf.dest)
    try:
        _fetch(wf, part, progress, should_stop, timeout)
        _check(wf, part)
        os.replace(part, wf.dest)
    except BaseException:
        _remove(part)
        raise
    log.info("Downloaded %s", wf.dest)
    return wf.dest


def _fetch(wf, part, progress, should_stop, timeout) -> None:
    request = urllib.request.Request(wf.url, headers={"User-Agent": "image-workbench"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"The server {wf.source} refused {wf.file_name}: HTTP {exc.code} "
                            f"{exc.reason}. Received: url={wf.url!r}") from None
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"Can't reach {wf.source} to download {wf.file_name} ({reason}). You seem to be "
            f"offline: connect and try again, or copy the file by hand to {wf.dest}, or use "
            "random weights.", offline=True) from None
    with response:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        try:
            with open(part, "wb") as out:
                while True:
                    if should_stop is not None and should_stop():
                        raise DownloadCancelled(f"Download of {wf.file_name} cancelled; "
                                                "nothing was kept.")
                    chunk = response.read(CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
                out.flush()
                os.fsync(out.fileno())
        except (socket.timeout, ConnectionError) as exc:
            raise DownloadError(f"The connection to {wf.source} broke after {done:,} bytes "
                                f"of {wf.file_name} ({exc}); try again.") from None
        except OSError as exc:
            raise DownloadError(f"Can't write {part}: {exc}") from None
    if total and done != total:
        raise DownloadError(f"{wf.file_name} arrived incomplete: {done:,} of {total:,} bytes; "
                            "try again.")


def _check(wf, part) -> None:
    if wf.file_hash:
        algorithm = hash_algorithm(wf.file_hash)
        got = file_digest(part, algorithm)
        if got != wf.file_hash:
            raise DownloadError(f"{wf.file_name} failed its checksum ({algorithm} {got}, "
                                f"expected Keras' published {wf.file_hash}); the file was "
                                "removed. Try again, or check the mirror in "
                                f"${BASE_URL_ENV}.")
        return
    with open(part, "rb") as f:
        signature = f.read(8)
    if signature != b"\x89HDF\r\n\x1a\n":
        raise DownloadError(f"{wf.file_name} is not an HDF5 weights file (Keras publishes no "
                            "checksum for it, so its format was checked); the file was "
                            "removed.")
    problem = _hdf5_problem(part)
    if problem:
        raise DownloadError(f"{wf.file_name} is incomplete or damaged: h5py can't read it "
                            f"({problem}). Keras publishes no checksum for it, so this is the "
                            "only check; the file was removed. Try again.")


def _hdf5_problem(path: str) -> str | None:
    """Why ``path`` is not a complete HDF5 file (None when it is): it must open (h5py
    compares the stored end-of-file address with the file's size) and every dataset must
    read to the end (a few MB for MobileNetV2)."""
    import h5py  # a Keras dependency; imported here so the module stays light

    problems = []

    def read(name, obj):
        if isinstance(obj, h5py.Dataset) and not problems:
            try:
                obj[()]
            except (OSError, ValueError, KeyError) as exc:
                problems.append(f"dataset {name}: {exc}")

    try:
        with h5py.File(path, "r") as f:
            f.visititems(read)
    except (OSError, ValueError, KeyError) as exc:
        return str(exc)
    return problems[0] if problems else None


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("Could not remove the partial download %s: %s", path, exc)
