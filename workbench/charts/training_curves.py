"""Live training curves: one metric (accuracy or loss), training vs validation, per epoch.

The Training panel embeds two of these (accuracy and loss). Points arrive once per epoch;
each one rebuilds the two small lines and redraws once, on a render thread (see
:mod:`workbench.charts.base`: a draw costs ~130 ms here), never per batch.
"""
from __future__ import annotations

from matplotlib.ticker import MaxNLocator

from workbench.charts.base import ChartCanvas

_LABELS = {"accuracy": "Accuracy", "loss": "Loss"}


class TrainingCurves(ChartCanvas):
    """Training and validation values of one metric, with the best validation epoch marked.

    Args:
        metric: ``"accuracy"`` or ``"loss"`` (the keys of the core's epoch payloads).
        parent: the Qt parent widget.
    """

    def __init__(self, metric: str = "accuracy", parent=None):
        if metric not in _LABELS:
            raise ValueError(f"metric must be 'accuracy' or 'loss'. Received: metric={metric!r}")
        # Not ``self.metric``: that would shadow QWidget.metric(), which Qt calls
        # virtually (devicePixelRatioF) and which then segfaults.
        self.metric_name = metric
        self._epochs: list[int] = []
        self._train: list[float] = []
        self._val: list[float] = []
        self._best_epoch: int | None = None
        super().__init__(parent, width=4.0, height=2.8)

    def state(self) -> dict:
        return {"epochs": list(self._epochs), "train": list(self._train),
                "val": list(self._val), "best": self._best_epoch}

    def build(self, state: dict):
        epochs, train, val, best = state["epochs"], state["train"], state["val"], state["best"]
        ax = self.figure.add_subplot(1, 1, 1)
        label = _LABELS[self.metric_name]
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("Epoch")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        has_val = any(v == v for v in val)  # NaN != NaN: no validation data
        ax.plot(epochs, train, "o-", color="tab:blue", label="training", ms=4)
        ax.plot(epochs if has_val else [], val if has_val else [], "s-",
                color="tab:orange", label="validation", ms=4)
        (best_marker,) = ax.plot([], [], "*", color="tab:green", ms=14,
                                 label="best validation", zorder=5)
        best_vline = ax.axvline(0, color="tab:green", lw=0.8, ls="--", visible=False)
        if not epochs:
            self.empty_message(ax, "Start training to see the curves here")
            ax.set_xlim(0.5, 2.5)
            ax.set_ylim(0, 1)
            return ax
        if best in epochs:
            i = epochs.index(best)
            best_marker.set_data([best], [val[i] if has_val else train[i]])
            best_vline.set_xdata([best, best])
            best_vline.set_visible(True)
        ax.set_xlim(min(epochs) - 0.5, max(max(epochs), 2) + 0.5)
        if self.metric_name == "accuracy":
            ax.set_ylim(0, 1.02)
        else:
            ax.set_ylim(bottom=0)  # losses are never negative; 0 anchors the eye
        ax.legend(loc="best", fontsize=8)
        return ax

    def _line(self, label: str):
        lines = [ln for ln in self.ax.get_lines() if ln.get_label() == label] if self.ax else []
        return lines[0] if lines else None

    @property
    def train_line(self):
        return self._line("training")

    @property
    def val_line(self):
        return self._line("validation")

    @property
    def best_marker(self):
        return self._line("best validation")

    @property
    def epochs(self) -> list[int]:
        """The epochs shown (or about to be), in order."""
        return list(self._epochs)

    def reset(self) -> None:
        """Forget every point (a new run starts)."""
        self._epochs, self._train, self._val = [], [], []
        self._best_epoch = None
        self.changed()

    def add_epoch(self, info: dict) -> None:
        """Append one epoch from the core's ``on_epoch`` payload; redraw once, off-thread.

        Args:
            info: keys ``epoch``, the metric, ``val_<metric>`` (may be None) and ``best``.
        """
        self._append(info)
        self.changed()

    def set_history(self, epochs: list[dict]) -> None:
        """Replace the curves with a whole history (a list of epoch payloads)."""
        self._epochs, self._train, self._val = [], [], []
        self._best_epoch = None
        for info in epochs:
            self._append(info)
        if self._best_epoch is None and epochs:
            # Histories read back from a run folder may not flag the best epoch: it is the
            # one with the lowest validation loss, as in the core.
            losses = [(_num(e.get("val_loss")), i) for i, e in enumerate(epochs)]
            losses = [(v, i) for v, i in losses if v == v]
            if losses:
                self._best_epoch = self._epochs[min(losses)[1]]
        self.changed()

    @property
    def best_epoch(self) -> int | None:
        return self._best_epoch

    def _append(self, info: dict) -> None:
        epoch = int(info.get("epoch", len(self._epochs) + 1))
        self._epochs.append(epoch)
        self._train.append(_num(info.get(self.metric_name)))
        self._val.append(_num(info.get("val_" + self.metric_name)))
        if info.get("best"):
            self._best_epoch = epoch


def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
