"""Leaving a process at once, without leaving its temporary files behind.

A training process, the compute service and the CLI's supervised commands end with
``os._exit`` once their last message is out: the interpreter's normal teardown, which
frees TensorFlow's objects one by one, took ~4 s after the last event, and a window
waiting for the process (closing, Stop then Start) would wait that long for nothing.

``os._exit`` skips ``atexit``, and that is where TensorFlow's AutoGraph deletes the
Python files it writes into the temporary folder for every function it converts
(``tensorflow/python/autograph/pyct/loader.py``: ``NamedTemporaryFile(delete=False)``
plus an ``atexit`` hook). Each training left 2 to ~10 ``__autograph_generated_file*.py``
files in the user's temporary folder, for good. :func:`quick_exit` deletes the ones this
process wrote (it knows them: AutoGraph keeps each as a module in ``sys.modules``)
before it leaves; a ``kill -9`` still leaves them, as it would for any program.
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile

# AutoGraph's prefix for the modules it writes (tensorflow/python/autograph/pyct/loader.py).
AUTOGRAPH_PREFIX = "__autograph_generated_file"


def remove_autograph_files() -> int:
    """Delete the AutoGraph source files this process wrote; returns how many.

    Only files that this process loaded as AutoGraph modules and that lie directly in
    the temporary folder are touched: other processes' files (another TensorFlow program
    of the user's, a sibling training) are theirs to delete.
    """
    temp = os.path.realpath(tempfile.gettempdir())
    removed = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith(AUTOGRAPH_PREFIX):
            continue
        path = getattr(module, "__file__", None)
        if not path or os.path.dirname(os.path.realpath(path)) != temp:
            continue
        try:
            os.remove(path)
            removed += 1
        except FileNotFoundError:
            pass   # AutoGraph's own atexit hook, or a temp cleaner, was first
        except OSError as exc:   # never stop an exit over a temporary file
            logging.getLogger(__name__).debug("could not remove %s: %s", path, exc)
    return removed


def quick_exit(code: int) -> None:
    """End this process now with ``code``: its temporary files removed, logs flushed.

    Call it only once everything the process owes is on disk or sent (each file written
    atomically, writers closed); no ``atexit`` hook and no object's finaliser runs.
    """
    try:
        remove_autograph_files()
        sys.stderr.flush()
        logging.shutdown()
    finally:
        os._exit(int(code))
