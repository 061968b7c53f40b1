"""Terminal progress for the CLI: a one-line bar on stderr and per-epoch metric lines.

No dependencies: the bar is redrawn with ``\\r`` (at most ~10 times a second, the rate the
core already throttles ``on_batch`` to) and only when stderr is a terminal; otherwise
just the status and epoch lines are printed, so logs stay readable.
"""
from __future__ import annotations

import time

from training.events import StopFlagEvents

BAR_WIDTH = 24


def _bar(done: int, total: int) -> str:
    frac = 0.0 if total <= 0 else min(1.0, done / total)
    filled = int(round(frac * BAR_WIDTH))
    return "[" + "#" * filled + "-" * (BAR_WIDTH - filled) + "]"


def _fmt(value, pattern="{:.4f}") -> str:
    return "-" if value is None else pattern.format(value)


class TerminalEvents(StopFlagEvents):
    """Events that draw progress on ``err`` and print epoch lines on ``out``.

    Args:
        err: stream for the progress bar and status lines (stderr).
        out: stream for per-epoch metric lines (stdout, or stderr under ``--json``).
    """

    def __init__(self, err, out):
        super().__init__()
        self.err, self.out = err, out
        self.live = bool(getattr(err, "isatty", lambda: False)())
        self._bar_shown = False
        self._last = 0.0

    def _draw(self, text: str) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        self._last = now
        self.err.write("\r" + text[:120].ljust(80))
        self.err.flush()
        self._bar_shown = True

    def finish_line(self) -> None:
        """End a bar that is still on screen, so the next line starts clean."""
        if self._bar_shown:
            self.err.write("\n")
            self.err.flush()
            self._bar_shown = False

    def on_status(self, message: str) -> None:
        self.finish_line()
        print(message, file=self.err, flush=True)

    def on_progress(self, done: int, total: int, what: str) -> None:
        self._draw(f"{what} {_bar(done, total)} {done:,}/{total:,}")

    def on_batch(self, info: dict) -> None:
        phase = " fine-tune" if info.get("phase") == "fine_tune" else ""
        self._draw(f"Epoch {info['epoch']}/{info['epochs']}{phase} {_bar(info['batch'], info['batches'])} "
                   f"{info['batch']}/{info['batches']} loss {_fmt(info.get('loss'))} "
                   f"acc {_fmt(info.get('accuracy'))}")

    def on_epoch(self, info: dict) -> None:
        self.finish_line()
        phase = " (fine-tune)" if info.get("phase") == "fine_tune" else ""
        print(f"Epoch {info['epoch']}/{info['epochs']}{phase}: loss {_fmt(info['loss'])} "
              f"acc {_fmt(info['accuracy'])} val_loss {_fmt(info['val_loss'])} "
              f"val_acc {_fmt(info['val_accuracy'])} lr {_fmt(info['lr'], '{:.2g}')} "
              f"{info['seconds']:.1f}s" + ("  *best" if info.get("best") else ""),
              file=self.out, flush=True)
