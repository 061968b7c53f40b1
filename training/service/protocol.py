"""The compute service's wire format: JSON messages over pipes, arrays as raw bytes.

Documented for people in ``docs/PROTOCOL.md``; this module is its one implementation,
used by the service (``training.service.server``) and by the app's client
(``workbench.compute``). Qt-free and TensorFlow-free, so the app imports it freely.

A **frame** is one line of UTF-8 JSON (the header; ``json.dumps`` escapes every newline
inside it) followed, when the header lists ``"blobs"``, by each blob's raw bytes back to
back. A numpy array anywhere inside a message is replaced by ``{"$array": i}`` and sent
as blob ``i`` (``{"dtype": "<f4", "shape": [h, w], "nbytes": n}`` in the header), so an
image costs its bytes, never a pickle (unpickling can run code; raw bytes cannot).

Nothing but frames may reach the channel: the service moves its file descriptor 1 away
from the pipe at start (see :func:`training.service.server.claim_channel`), so what
libraries print goes to its log. A reader still skips a line that is not JSON (logged),
so a stray line cannot wedge it.
"""
from __future__ import annotations

import json
import logging

import numpy as np

log = logging.getLogger(__name__)

# Bump on any change a peer of the previous version would misread (a renamed field, a new
# required one, another framing). Adding a method or an optional field is not such a change.
PROTOCOL_VERSION = 1
# The largest header and blob a reader accepts: far above any real message (an evaluation
# of 10,000 test images is ~3 MB of JSON), low enough that a corrupt length can't exhaust memory.
MAX_HEADER_BYTES = 256 * 1024 * 1024
MAX_BLOB_BYTES = 2 * 1024 * 1024 * 1024

# Message types. Client -> service: REQUEST, CANCEL, SHUTDOWN. Service -> client: HELLO
# (once, first), then per request any of STATUS, PROGRESS, PARTIAL, and exactly one of
# RESULT, ERROR, STOPPED.
HELLO, REQUEST, CANCEL, SHUTDOWN = "hello", "request", "cancel", "shutdown"
STATUS, PROGRESS, PARTIAL, RESULT, ERROR, STOPPED = (
    "status", "progress", "partial", "result", "error", "stopped")
FINAL_TYPES = (RESULT, ERROR, STOPPED)
# ERROR kinds: the person's input can't be used (the message says why), or a bug/crash.
BAD_INPUT, INTERNAL = "bad_input", "internal"


class ProtocolError(ValueError):
    """A frame that can't be decoded (its header names the problem)."""


def encode(message: dict) -> bytes:
    """One frame for ``message`` (numpy arrays inside become blobs)."""
    blobs: list[np.ndarray] = []
    body = _strip_arrays(message, blobs)
    if blobs:
        body["blobs"] = [{"dtype": a.dtype.str, "shape": list(a.shape), "nbytes": int(a.nbytes)}
                         for a in blobs]
    head = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=True,
                      default=_plain).encode("utf-8")
    return b"".join([head, b"\n", *(a.tobytes() for a in blobs)])


def _strip_arrays(value, blobs: list):
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            return [_strip_arrays(v, blobs) for v in value.tolist()]
        blobs.append(np.ascontiguousarray(value))
        return {"$array": len(blobs) - 1}
    if isinstance(value, dict):
        return {str(k): _strip_arrays(v, blobs) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strip_arrays(v, blobs) for v in value]
    return value


def _plain(value):
    """JSON for what ``json`` can't write: numpy scalars, sets, paths, dataclasses."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "__fspath__"):
        return str(value)
    raise TypeError(f"Cannot send a {type(value).__name__} to or from the compute service. "
                    f"Received: {value!r:.200}")


def _restore_arrays(value, blobs: list):
    if isinstance(value, dict):
        if len(value) == 1 and "$array" in value:
            return blobs[int(value["$array"])]
        return {k: _restore_arrays(v, blobs) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore_arrays(v, blobs) for v in value]
    return value


class Decoder:
    """Turns a byte stream into messages, however the bytes arrive in pieces.

    ``feed(data)`` returns every message completed by ``data``. Lines that aren't a JSON
    object are skipped and counted in ``skipped`` (and logged): junk must never stop the
    channel.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._header: dict | None = None   # a header whose blobs are still arriving
        self._need = 0
        self.skipped = 0

    def feed(self, data: bytes) -> list[dict]:
        self._buf += data
        out = []
        while True:
            if self._header is None:
                nl = self._buf.find(b"\n")
                if nl < 0:
                    if len(self._buf) > MAX_HEADER_BYTES:
                        self._skip(bytes(self._buf[:200]))
                        self._buf.clear()
                    return out
                line = bytes(self._buf[:nl])
                del self._buf[:nl + 1]
                header = self._parse(line)
                if header is None:
                    continue
                specs = header.get("blobs") or []
                self._need = sum(int(b["nbytes"]) for b in specs)
                if self._need > MAX_BLOB_BYTES:
                    raise ProtocolError(f"A message announces {self._need} bytes of arrays; "
                                        f"the limit is {MAX_BLOB_BYTES}.")
                self._header = header
            if len(self._buf) < self._need:
                return out
            out.append(self._finish())

    def _parse(self, line: bytes) -> dict | None:
        text = line.strip()
        if not text:
            return None
        try:
            header = json.loads(text.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            header = None
        if not isinstance(header, dict) or "type" not in header:
            self._skip(text)
            return None
        return header

    def _skip(self, text: bytes) -> None:
        self.skipped += 1
        log.warning("Skipped %d bytes on the compute service's channel that are not a message: %r",
                    len(text), text[:120])

    def _finish(self) -> dict:
        header, self._header = self._header, None
        blobs, pos = [], 0
        for spec in header.pop("blobs", None) or []:
            n = int(spec["nbytes"])
            arr = np.frombuffer(bytes(self._buf[pos:pos + n]), dtype=np.dtype(spec["dtype"]))
            blobs.append(arr.reshape([int(v) for v in spec["shape"]]))
            pos += n
        del self._buf[:pos]
        self._need = 0
        return _restore_arrays(header, blobs) if blobs else header


def hello(pid: int, methods: list[str], version: int = PROTOCOL_VERSION) -> dict:
    """The service's first message: who it is and what it answers."""
    return {"type": HELLO, "protocol": version, "pid": int(pid), "methods": sorted(methods)}


def version_mismatch(theirs, ours: int = PROTOCOL_VERSION) -> str | None:
    """The message a person sees when the two sides speak different versions (None: same)."""
    if theirs == ours:
        return None
    return (f"The compute service speaks protocol version {theirs}, but this app needs version "
            f"{ours}: the service program is from another version of the app. Reinstall the app "
            "(scripts/run.sh does), then restart it.")
