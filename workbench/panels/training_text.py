"""The Training panel's words: epoch log lines, the progress bar's text with its ETA, the
device line, the hint beside the buttons, how a run ended."""
from __future__ import annotations

import os
import time


def epoch_line(info: dict) -> str:
    """One log line per epoch: ``Epoch 2/10  loss 0.412  acc 0.861  val_loss …``."""
    parts = [f"Epoch {info.get('epoch', '?')}/{info.get('epochs', '?')}"]
    if info.get("phase") == "fine_tune":
        parts[0] += " (fine-tune)"
    for key, label, fmt in (("loss", "loss", "{:.4f}"), ("accuracy", "acc", "{:.3f}"),
                            ("val_loss", "val_loss", "{:.4f}"),
                            ("val_accuracy", "val_acc", "{:.3f}"), ("lr", "lr", "{:.2g}"),
                            ("seconds", "", "{:.1f} s")):
        value = info.get(key)
        if isinstance(value, (int, float)):
            parts.append(f"{label} {fmt.format(value)}".strip())
    if info.get("best"):
        parts.append("★ best")
    return "  ".join(parts)


def stopped_message(best_epoch) -> str:
    if best_epoch:
        return f"Stopped — best weights from epoch {best_epoch} kept"
    return "Stopped during the first epoch — no validated best weights yet"


def duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def force_stopped_message(epochs_done: int) -> str:
    if epochs_done:
        return (f"Force-stopped — the run is kept; Resume continues it after epoch "
                f"{epochs_done} (its last checkpoint)")
    return "Force-stopped before the first epoch ended — nothing to resume; start a new run"


def unexpected_stop_message(how: str | None, resume_after: int | None, shown: int = 0) -> str:
    """A run whose process ended without finishing it (``status: interrupted``).

    Args:
        how: what happened to the process ("killed by signal 9 (SIGKILL)"), if known.
        resume_after: the epoch of the checkpoint a resume continues from (None: none).
        shown: epochs shown; one past the checkpoint died while it was being saved.
    """
    why = (f"the training process was {how}" if how
           else "the process training this run ended without finishing it (killed or crashed)")
    if resume_after:
        then = f"Resume continues it after epoch {resume_after}, its last checkpoint."
        if shown > resume_after:
            then += f" Epoch {shown} ended but was not saved: Resume trains it again."
    else:
        then = "It had not finished an epoch, so there is nothing to resume: start a new run."
    return f"Training stopped unexpectedly: {why}. The run is marked interrupted. {then}"


class BatchProgress:
    """The progress bar while batches run: the fraction done, ``Training · epoch 2/10 ·
    batch 5/40 · ETA 1:02`` (the ETA from the pace since the current phase began), and
    the status line once per epoch and phase."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.phase_start: tuple | None = None   # (phase, monotonic time, steps done then)
        self._status_epoch = None   # (epoch, phase) the status line last announced

    @property
    def started(self) -> bool:
        """Batches run: they drive the bar from now on (not the loading progress)."""
        return self.phase_start is not None

    def update(self, info: dict, now: float | None = None) -> tuple[int, str, str | None]:
        """``(bar value 0-1000, bar text, status line or None)`` for a batch event."""
        epoch, epochs = int(info.get("epoch", 1)), max(1, int(info.get("epochs", 1)))
        batch, batches = int(info.get("batch", 0)), max(1, int(info.get("batches", 1)))
        phase = info.get("phase", "train")
        step = (epoch - 1) * batches + batch
        now = time.monotonic() if now is None else now
        if self.phase_start is None or self.phase_start[0] != phase:
            self.phase_start = (phase, now, step)
        _, t0, s0 = self.phase_start
        eta = ""
        if step > s0 and now > t0:
            eta = " · ETA " + duration((now - t0) / (step - s0) * (epochs * batches - step))
        name = "Fine-tuning" if phase == "fine_tune" else "Training"
        status = None
        if (epoch, phase) != self._status_epoch:
            # Decoding is over once batches run: say so, rather than leave the last status.
            self._status_epoch = (epoch, phase)
            status = f"{name}: epoch {epoch} of {epochs}…"
        value = int(1000 * min(1.0, step / (epochs * batches)))
        return value, f"{name} · epoch {epoch}/{epochs} · batch {batch}/{batches}{eta}", status


def device_text(info: dict) -> tuple[str, str, str]:
    """The training process's ``device`` event as ``(label, tooltip, GPU problem or "")``."""
    name = str(info.get("name") or "CPU")
    mixed = " · mixed precision" if info.get("mixed_precision") else ""
    tip = "Where this run trains" + (
        "; float16 compute with float32 weights (mixed precision, automatic on a GPU)"
        if mixed else "")
    problem = info.get("problem")
    return f"Device: {name}{mixed}", tip, f"GPU not used: {problem}" if problem else ""


def hint_text(busy: bool, following: bool, resumable: str | None, has_data: bool) -> str:
    """The hint beside the buttons: what the person can do now."""
    if following:
        return ("Following a run trained by another process; Stop asks it to stop after "
                "its current batch.")
    if busy:
        return "Training… Stop keeps the best weights so far."
    if resumable:
        return (f"Run {os.path.basename(resumable.rstrip('/'))} is unfinished: Resume "
                "continues it from its last checkpoint.")
    return "" if has_data else "Open a dataset first (Dataset panel)."


def finished_text(summary: dict, best) -> str:
    """A run that trained to its end: its test accuracy and best epoch."""
    acc = summary.get("test_accuracy")
    text = "Training finished"
    if acc is not None:
        text += f": test accuracy {acc:.1%}"
    if best:
        text += f" (best validation epoch {best})"
    return text
