"""How a long computation talks to whoever started it: plain data out, a stop flag in.

The GUI subclasses :class:`Events` in a Qt worker and re-emits each call as a signal; the
CLI prints. Nothing here knows about Qt or TensorFlow, and every payload is plain Python
data (dicts of str/int/float, lists, numpy arrays), safe to send across threads.
"""
from __future__ import annotations

import threading


class Stopped(Exception):
    """Raised inside a core function when ``events.should_stop()`` turned true."""


class Events:
    """No-op base class. Override what you need.

    Payloads:
        on_status(message): a one-line human-readable status ("Decoding 1,024 images…").
        on_progress(done, total, what): generic progress for non-training work
            (decoding, feature extraction, evaluation, prediction).
        on_batch(info): throttled (at most ~10/s). Keys: phase ("train" or "fine_tune"),
            epoch (1-based, counting across phases), epochs, batch (1-based), batches,
            loss, accuracy.
        on_epoch(info): after every epoch. Keys: phase, epoch, epochs, loss, accuracy,
            val_loss, val_accuracy (None without validation data), lr, seconds, best (bool:
            this epoch is the best so far by val_loss).
    """

    def on_status(self, message: str) -> None:
        pass

    def on_progress(self, done: int, total: int, what: str) -> None:
        pass

    def on_batch(self, info: dict) -> None:
        pass

    def on_epoch(self, info: dict) -> None:
        pass

    def should_stop(self) -> bool:
        return False

    def check_stop(self) -> None:
        """Raise :class:`Stopped` if a stop was requested (for loops outside Keras)."""
        if self.should_stop():
            raise Stopped()


class StopFlagEvents(Events):
    """Events with a thread-safe stop flag; ``stop()`` may be called from any thread."""

    def __init__(self) -> None:
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def should_stop(self) -> bool:
        return self._stop.is_set()
