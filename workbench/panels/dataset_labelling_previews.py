"""Previews decoded ahead of the labelling view's selection, and what is shown while a key
is held down (issue 23: key press -> next image shown within 50 ms).

:class:`NextPreviews` belongs to one :class:`~workbench.panels.dataset_labelling.LabellingView`.
After each key press the next images to label are handed to
:class:`~workbench.workers.preview_ahead.PreviewAhead` (decoded on the app's pool to fit the
preview box, each delivered as soon as it is ready). Their number follows the key repeat
rate: while presses come faster than a preview decodes, the images the selection reaches
before one decode ends are left out (it would pass them first). An image that is not
ready when the selection reaches it is shown as its grid thumbnail at once; its sharp
preview replaces it when decoded, which for the image the keys stop on starts
``REFINE_MS`` after the last press (nothing is decoded for images passed meanwhile); one
without a thumbnail yet is decoded at once. Near the grid's end the images its queue's
owner shows next (``LabellingView.upcoming``: Label next's ranking past the shown 50) are
decoded ahead too: the first of them had neither preview nor thumbnail when the keys
reached it, and a held key waited 170-190 ms for it (bench/labelling_latency.py).
"""
from __future__ import annotations

import collections
import contextlib
import itertools
import time

from PySide6.QtCore import QObject, QTimer, Slot

from workbench.itemmodels.thumbnails import PathRole, ThumbnailRole
from workbench.workers.preview_ahead import PreviewAhead

PREFETCH = 8         # previews decoded ahead of the selection
REFINE_MS = 150      # presses closer than this are a held key; the sharp preview follows
MAX_PREVIEW_EDGE = 1024   # previews are decoded to fit the preview box, at most this


class NextPreviews(QObject):
    """The previews ahead of one labelling view (GUI thread; see the module docstring)."""

    def __init__(self, view):
        super().__init__(view)
        self.view = view
        # Owned here, cleared with the dataset, shut down with the panel.
        self.ahead = PreviewAhead(self._on_ahead)
        self._presses: "collections.deque[float]" = collections.deque(maxlen=8)
        self._key_move = False        # the selection is moving because a key labelled
        self.reduced: str | None = None   # the preview shows this image's thumbnail for now
        self._refine_timer = QTimer(self)
        self._refine_timer.setSingleShot(True)
        self._refine_timer.setInterval(REFINE_MS)
        self._refine_timer.timeout.connect(self._refine)

    @contextlib.contextmanager
    def key_move(self):
        """The selection moves because a key labelled (or excluded) the image."""
        self._presses.append(time.monotonic())
        self._key_move = True
        try:
            yield
        finally:
            self._key_move = False

    def keys_moving(self, within_s: float) -> bool:
        """Whether a key labelled (or excluded) an image in the last ``within_s`` seconds."""
        return bool(self._presses) and time.monotonic() - self._presses[-1] < within_s

    def preview_box(self) -> tuple[int, int]:
        """The preview box in device pixels (rounded up): previews decode to fit it."""
        view = self.view
        image = view.panel.preview.image
        ratio = image.devicePixelRatioF()
        return tuple(int(max(160, min(MAX_PREVIEW_EDGE, -(-side * ratio // 32) * 32)))
                     for side in (image.width(), image.height()))

    def preview_for(self, path: str, row: int) -> dict | None:
        """The panel's selection moved to ``path`` (grid row ``row``): its preview decoded
        ahead; or, right after a key labelled, the grid's thumbnail (``pixmap``, maybe
        None: "Loading…") until the sharp one is decoded; None: the panel decodes it."""
        view = self.view
        self._refine_timer.stop()
        self.reduced = None
        if not view.is_active() or view.state.dataset is None or view.state.dataset.arrays is not None:
            return None
        cached = self.ahead.get(path)
        held = self._key_move and self._held()
        thumb = view.panel.thumbs.index(row, 0).data(ThumbnailRole) if cached is None and self._key_move else None
        # A held key: the current image is passed before it decodes; decode it when the keys
        # stop. Unless it has no thumbnail either: nothing would be shown until then (the
        # first image of a new queue: 170-190 ms after the press, waiting for REFINE_MS).
        now = cached is None and self._key_move and (not held or thumb is None)
        self.prefetch_after(row, current=path if now else None)
        if cached is not None or not self._key_move:
            return cached
        if held and not now:
            self._refine_timer.start()
        self.reduced = path
        return {"path": path, "image": None, "pixmap": thumb, "error": "", "reduced": True}

    def _held(self) -> bool:
        t = self._presses
        return len(t) >= 2 and t[-1] - t[-2] < REFINE_MS / 1000

    def _press_interval(self) -> float:
        """The typical time between the last presses (s); 0 when the keys are not moving."""
        t = list(self._presses)
        if len(t) < 3 or time.monotonic() - t[-1] > 1.0:
            return 0.0
        gaps = sorted(b - a for a, b in zip(t, t[1:]))
        return gaps[len(gaps) // 2]

    def prefetch_after(self, row: int, current: str | None = None) -> None:
        """Decode the previews of the next images to label after grid row ``row`` (and
        ``current`` first when given). While keys repeat faster than a preview decodes,
        the images the selection reaches before one decode ends are left out: it would
        pass them first (the depth ahead follows the repeat rate)."""
        view = self.view
        if not view.is_active() or view.state.dataset is None or view.state.dataset.arrays is not None:
            return
        interval = self._press_interval()
        lead = min(2 * PREFETCH, int(self.ahead.decode_s / interval)) if interval > 0 else 0
        model = view.panel.thumbs
        paths, skipped = [current] if current else [], 0
        end = min(model.rowCount(), row + 1 + 4 * (PREFETCH + lead))
        candidates = (model.index(r, 0).data(PathRole) for r in range(row + 1, end))
        if end == model.rowCount():   # near the grid's end: then what its queue's owner shows next
            candidates = itertools.chain(candidates, itertools.islice(view.upcoming(), 4 * (PREFETCH + lead)))
        for path in candidates:
            if not view.to_label(path):
                continue
            if skipped < lead:
                skipped += 1
                continue
            paths.append(path)
            if len(paths) >= PREFETCH:
                break
        self.ahead.want(paths, self.preview_box(), view.panel.preview.fit_size())

    def _on_ahead(self, result: dict) -> None:
        """A preview decoded ahead: shown at once if the preview waits for it."""
        view = self.view
        path = result["path"]
        if path == self.reduced and view.panel.grid.currentIndex().data(PathRole) == path:
            self.reduced = None
            view.panel.show_preview(result)

    @Slot()
    def _refine(self) -> None:
        """The keys stopped on an image shown as its thumbnail: decode its preview now."""
        view = self.view
        current = view.panel.grid.currentIndex()
        path = current.data(PathRole) if current.isValid() else None
        if path and path == self.reduced and not self.ahead.in_flight(path):
            self.prefetch_after(current.row(), current=path)

    def pending(self) -> bool:
        return self.ahead.pending() or self._refine_timer.isActive()

    def clear(self) -> None:
        """Another dataset (or the same reopened): nothing decoded ahead is kept."""
        self.ahead.clear()
        self.reduced = None

    def shutdown(self) -> None:
        self._refine_timer.stop()
        self.ahead.shutdown()

