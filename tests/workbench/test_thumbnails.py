"""ThumbnailModel on its own: off-thread decoding, bad files, large array indexes."""
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap

from training.data import open_dataset
from training.data.index import DatasetIndex
from tests.imagegen import make_class_folder
from workbench.itemmodels import thumbnails
from workbench.itemmodels.thumbnails import SampleRole, ThumbnailModel, ThumbnailRole


def test_decodes_off_thread_and_marks_bad_files(qtbot, tmp_path):
    root = make_class_folder(tmp_path / "d", classes=("a", "b"), per_class=4)
    # Has an image extension, so the index keeps it; the decode fails later.
    (root / "a" / "zz_broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    index = open_dataset(str(root))
    model = ThumbnailModel()
    model.set_index(index)
    rows = range(model.rowCount())
    for r in rows:
        assert model.data(model.index(r, 0), ThumbnailRole) is None  # queued, not decoded here
    qtbot.waitUntil(lambda: not model.pending(), timeout=10000)
    broken = [r for r in rows if model.data(model.index(r, 0), SampleRole) is not None
              and index.paths[model.sample_row(r)].endswith("zz_broken.png")]
    assert len(broken) == 1
    tip = model.data(model.index(broken[0], 0), 0x0003)  # ToolTipRole
    assert "cannot show" in tip
    good = [r for r in rows if r not in broken]
    assert all(isinstance(model.data(model.index(r, 0), ThumbnailRole), QPixmap) for r in good)
    model.shutdown()


def test_cache_is_bounded(qtbot, monkeypatch):
    from workbench.itemmodels.thumbnails import tilecache

    monkeypatch.setattr(tilecache, "CACHE_ITEMS", 50)
    n = 200
    arrays = np.random.default_rng(0).integers(0, 255, (n, 8, 8), dtype=np.uint8)
    index = DatasetIndex(root="mem", kind="npz", classes=["a", "b"],
                         paths=[f"x.npz#{i}" for i in range(n)],
                         labels=(np.arange(n) % 2).astype(np.int32),
                         splits=np.zeros(n, dtype=np.uint8), arrays=arrays)
    model = ThumbnailModel()
    model.set_index(index)
    for r in range(n):
        assert isinstance(model.data(model.index(r, 0), ThumbnailRole), QPixmap)
    assert len(model._cache) == 50
    model.shutdown()


def test_seventy_thousand_items_filter_by_class_and_split(qtbot):
    n = 70_000
    arrays = np.zeros((n, 28, 28), dtype=np.uint8)
    index = DatasetIndex(root="mem", kind="idx", classes=[str(i) for i in range(10)],
                         paths=[f"train#{i}" for i in range(n)],
                         labels=(np.arange(n) % 10).astype(np.int32),
                         splits=(np.arange(n) % 3).astype(np.uint8), arrays=arrays)
    model = ThumbnailModel()
    model.set_index(index)
    assert model.rowCount() == n
    model.set_filter(3, 0)
    want = np.flatnonzero((np.arange(n) % 10 == 3) & (np.arange(n) % 3 == 0))
    assert model.rowCount() == len(want)
    assert [model.sample_row(r) for r in (0, 1, len(want) - 1)] == [want[0], want[1], want[-1]]
    assert model.data(model.index(1, 0)) == f"train#{want[1]}"
    model.set_filter(-1, -1)
    assert model.rowCount() == n
    model.shutdown()


def test_layout_calls_stay_in_cpp_and_items_are_read_only(qtbot):
    # Qt's icon-mode layout calls rowCount()/index() once per item (140,000 calls for
    # 70,000 items). From Python each waited for the GIL while a worker was busy: the
    # layout took 60 s. They must stay QStringListModel's C++ methods.
    for name in ("rowCount", "index", "columnCount", "parent", "sibling"):
        assert name not in vars(ThumbnailModel), f"ThumbnailModel must not override {name}()"
    n = 5
    index = DatasetIndex(root="mem", kind="npz", classes=["a"], paths=[f"x.npz#{i}" for i in range(n)],
                         labels=np.zeros(n, np.int32), splits=np.zeros(n, np.uint8),
                         arrays=np.zeros((n, 4, 4), np.uint8))
    model = ThumbnailModel()
    model.set_index(index)
    flags = model.flags(model.index(0, 0))
    assert flags & Qt.ItemFlag.ItemIsSelectable and flags & Qt.ItemFlag.ItemIsEnabled
    assert not flags & Qt.ItemFlag.ItemIsEditable and not flags & Qt.ItemFlag.ItemIsDragEnabled
    assert model.data(model.index(4, 0)) == "x.npz#4" and model.data(model.index(5, 0)) is None
    model.shutdown()


def _array_index(n: int, size: int = 28) -> DatasetIndex:
    arrays = np.random.default_rng(1).integers(0, 255, (n, size, size), dtype=np.uint8)
    return DatasetIndex(root="mem", kind="idx", classes=["a", "b"], paths=[f"train#{i}" for i in range(n)],
                        labels=(np.arange(n) % 2).astype(np.int32), splits=np.zeros(n, np.uint8),
                        arrays=arrays)


def _grid(qtbot, model):
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QListView

    from workbench.widgets.pinned_views import PinnedListView

    view = PinnedListView()
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setUniformItemSizes(True)
    view.setMovement(QListView.Movement.Static)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    view.setIconSize(QSize(thumbnails.THUMB, thumbnails.THUMB))
    view.setGridSize(QSize(thumbnails.THUMB + 16, thumbnails.THUMB + 24))
    view.setModel(model)
    view.resize(440, 660)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    return view


def _shown(view) -> tuple[int, int]:
    """The first and last item rows in view."""
    rows = [r for r in range(view.model().rowCount())
            if view.visualRect(view.model().index(r, 0)).intersects(view.viewport().rect())]
    return rows[0], rows[-1]


def test_the_next_page_is_made_after_a_paint_and_pages_from_the_cache(qtbot, monkeypatch):
    # A page of new items made inside the paint took 7-20 ms here: the warmer makes the
    # tiles ahead of what was painted in slices after it, so the next page paints cached.
    from workbench.itemmodels.thumbnails import tiles
    from workbench.itemmodels.thumbnails import warm as thumb_warm

    made = []
    real_tile = tiles.array_tile
    monkeypatch.setattr(tiles, "array_tile", lambda a: made.append(1) or real_tile(a))
    monkeypatch.setattr(thumb_warm, "SLICE_S", 0.0)   # one tile per slice: the slicing shows
    model = ThumbnailModel()
    model.set_index(_array_index(5000))
    view = _grid(qtbot, model)
    first, last = _shown(view)
    qtbot.waitUntil(lambda: not model._warmer.pending(), timeout=10_000)
    assert model._warmer.slices > 20   # one item per slice, not all at once
    ahead = range(last + 1, last + 1 + thumb_warm.AHEAD // 2)
    assert all(model.sample_row(r) in model._cache for r in ahead), "the next page was not made"
    # Page down: the new page's tiles come from the cache, not from the paint.
    made.clear()
    sb = view.verticalScrollBar()
    sb.setValue(sb.value() + sb.pageStep())
    view.viewport().repaint()
    assert first == 0 and made == []
    # Far away (a drag of the scroll bar): made in the paint, and warming starts there.
    sb.setValue(sb.maximum() // 2)
    view.viewport().repaint()
    assert made
    row = _shown(view)[1]
    qtbot.waitUntil(lambda: not model._warmer.pending(), timeout=10_000)
    assert model._warmer.covers(row) and model.sample_row(row + 40) in model._cache
    model.shutdown()


def test_decoded_thumbnails_become_pixmaps_a_slice_at_a_time(qtbot, tmp_path, monkeypatch):
    from workbench.itemmodels.thumbnails import warm as thumb_warm

    monkeypatch.setattr(thumb_warm, "SLICE_S", 0.0)
    root = make_class_folder(tmp_path / "d", classes=("a", "b"), per_class=6)
    index = open_dataset(str(root))
    model = ThumbnailModel()
    model.set_index(index)
    changed = []
    model.dataChanged.connect(lambda a, b, roles: changed.append(a.row()))
    image = np.full((20, 20, 3), 128, np.uint8)
    batch = [(model.sample_row(r), image, "") for r in range(model.rowCount())]
    model._tiles.on_loaded(model._tiles.generation, batch)   # as the pool delivers a batch
    assert changed == []   # nothing in the delivering event itself
    qtbot.waitUntil(lambda: len(changed) == len(batch), timeout=5_000)
    assert model._tiles.absorber.slices >= len(batch)
    assert all(isinstance(model.data(model.index(r, 0), ThumbnailRole), QPixmap)
               for r in range(model.rowCount()))
    # A batch of an old generation (the filter changed meanwhile) is dropped.
    model.set_filter(0, -1)
    model._tiles.on_loaded(model._tiles.generation - 1, batch)
    assert not model._tiles.absorber.pending()
    model.shutdown()
