"""A local HTTP server on 127.0.0.1 serving weights-like files, for download tests (no
real network). ``served(folder)`` yields the base URL; ``WORKBENCH_WEIGHTS_URL`` set to it
makes ``training.models.weights_download`` fetch from it."""
from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import threading
import time
from pathlib import Path

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    delay = 0.0  # seconds between 16 KB chunks (a slow link, to test cancelling)

    def log_message(self, *args):  # keep test output clean
        pass

    def copyfile(self, source, outputfile):
        while chunk := source.read(16 * 1024):
            try:
                outputfile.write(chunk)
                outputfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the client cancelled
            if self.delay:
                time.sleep(self.delay)


@contextlib.contextmanager
def served(folder, delay: float = 0.0):
    handler = functools.partial(type("Handler", (_Quiet,), {"delay": delay}), directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def write_weights_like(path, size: int = 300_000) -> str:
    """A real HDF5 file of about ``size`` bytes (one uint8 dataset, as a weights file holds
    arrays), which the download's completeness check can read; returns its md5."""
    import h5py
    import numpy as np

    with h5py.File(path, "w") as f:
        f.create_dataset("weights", data=np.arange(size, dtype=np.int64).astype(np.uint8))
    data = Path(path).read_bytes()
    assert data.startswith(HDF5_SIGNATURE)
    return hashlib.md5(data).hexdigest()
