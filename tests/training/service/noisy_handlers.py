"""Handlers only the tests load (``python -m training.service --handlers
tests.training.service.noisy_handlers``): a library that prints junk on stdout from
Python and from C, junk written on the channel itself (what a library holding a copy of
the pipe would do), a frame the app can't read, and a long request that polls for its
cancel."""
from __future__ import annotations

import ctypes
import os
import sys
import time

from training.service.registry import handler

JUNK = "junk{\"type\": \"result\", \"id\": 1}\n"


@handler("noisy", tensorflow=False)
def noisy(request, lines: int = 50) -> dict:
    for i in range(lines):
        print(JUNK, end="")                                   # Python's sys.stdout
        os.write(1, b"fd-1 junk " + str(i).encode() + b"\n")  # file descriptor 1 directly
    sys.stdout.flush()
    libc = ctypes.CDLL(None)
    libc.printf(b"printf junk from C\n")                     # C's buffered stdout
    libc.fflush(None)
    request.on_status("noise made")
    return {"lines": lines, "after": "the channel is intact"}


@handler("junk_on_channel", tensorflow=False)
def junk_on_channel(request, lines: int = 3) -> dict:
    """Writes lines that aren't messages between real frames, on the channel's own pipe."""
    for i in range(lines):
        os.write(request.server.out_fd, f"not a message {i}\n".encode())
        request.on_status(f"after junk {i}")
    return {"lines": lines}


@handler("unreadable_frame", tensorflow=False)
def unreadable_frame(request) -> dict:
    """Announces more array bytes than any message may carry: the app can't read on."""
    os.write(request.server.out_fd, b'{"type": "partial", "id": 0, "blobs": '
                                    b'[{"dtype": "|u1", "shape": [1], "nbytes": 999999999999}]}\n')
    time.sleep(60)   # the app kills this service long before
    return {}


@handler("sleepy", tensorflow=False)
def sleepy(request, seconds: float = 60) -> dict:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        request.check_stop()
        request.on_progress(0, 1, "sleeping")
        time.sleep(0.02)
    return {"slept": seconds}
