"""A list model over a ``DatasetIndex``: one item per sample, thumbnails decoded off the
GUI thread.

The rows are a ``QStringListModel``'s file names, so ``rowCount()`` and ``index()`` stay
in C++: Qt's icon-mode layout calls them for every item (140,000 calls to lay out 70,000
items), and each call into Python from the event loop must take the GIL. While another
Python thread is busy (training, a chart render, decoding) every such take waits up to
the 5 ms switch interval: the layout of 70,000 items with a Python ``rowCount`` took 60 s
with one busy thread here, against 0.2 s now. Only ``data()`` is Python, and the view
asks it for visible items only (uniform item sizes), so a 70,000-image dataset costs
nothing until scrolled to; the grid, a
:class:`~workbench.widgets.pinned_views.PinnedListView`, takes the GIL once per paint
for those calls. An uncached thumbnail is queued; a few
tasks on the app's thread pool (:mod:`workbench.workers.pool`) pop the *newest* requests
first (what is on screen now) and send uint8 arrays back; the GUI thread turns them into
``QPixmap``s, keeps them in a bounded LRU cache and emits ``dataChanged`` for that row
only. Array sources
(IDX, npz) are tiny images already in memory and are drawn directly. The tiles just ahead
of (and behind) what was painted are made, or their decode queued, after the paint in
slices of ~2 ms, and decoded batches become pixmaps in the same slices
(:mod:`workbench.itemmodels.thumbnails.warm`): no page's tiles are all made inside one event.

The package: :mod:`.model` (the list model and its roles), :mod:`.tilecache` (the tile
cache and the decoding on the pool), :mod:`.tiles` (drawing a tile), :mod:`.warm` (the
GUI thread's slices).
"""
from __future__ import annotations

from workbench.itemmodels.thumbnails.model import (LabelRole, PathRole, SampleRole, SplitRole,
                                                   ThumbnailModel, ThumbnailRole)
from workbench.itemmodels.thumbnails.tiles import THUMB, array_tile

__all__ = ["THUMB", "LabelRole", "PathRole", "SampleRole", "SplitRole", "ThumbnailModel",
           "ThumbnailRole", "array_tile"]
