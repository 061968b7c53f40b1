"""The Dataset panel's labelling view (issue 23): unlabelled images in the grid, the class
list with keys, digit keys, multi-select, the preview following, the next image, undo,
empty states, and the queue API active learning plugs into. Real widgets, real files."""
from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtTest import QTest

from tests.imagegen import class_image, make_class_folder, write_image
from tests.workbench.panels import panel_fixture
from training.data import open_dataset
from tests.workbench.panels import labels_saved, load_overlay
from workbench.itemmodels.thumbnails import LabelRole, PathRole, ThumbnailRole

panel = panel_fixture("panel", "workbench.panels.dataset.DatasetPanel", size=(1100, 700),
                      show=True)


def loose(root, n=8, size=16):
    for i in range(n):
        write_image(root / f"img_{i:03d}.png", class_image(i % 3, size))
    return root


def _open(qtbot, panel, path):
    with qtbot.waitSignal(panel.state.datasetChanged, timeout=20000):
        assert panel.open_path(str(path))
    qtbot.waitUntil(lambda: not panel.pending_work(), timeout=20000)


def _labelling_grey_photos(qtbot, panel, root, n, shape=(600, 800), step=20):
    """``n`` flat grey JPEGs of ``shape`` (h, w) in ``root``, opened, labelling on with a
    class "x"; returns their paths, sorted."""
    for i in range(n):
        write_image(root / f"img_{i:03d}.jpg", np.full((*shape, 3), step * i, np.uint8))
    _open(qtbot, panel, root)
    panel.labelling.add_class("x")
    return sorted(str(p) for p in root.glob("*.jpg"))


def _info(panel):
    """The preview's details as plain text (paths carry zero-width break points)."""
    from workbench.widgets.wrap import ZWSP

    return panel.preview.info.text().replace(ZWSP, "")


def _current_path(panel):
    return panel.grid.currentIndex().data(PathRole)


def _key(panel, key):
    panel.grid.setFocus()
    QTest.keyClick(panel.grid, key)


def test_a_loose_folder_opens_in_the_labelling_view_and_says_what_to_do(qtbot, panel, tmp_path):
    root = loose(tmp_path / "photos")
    _open(qtbot, panel, root)
    view = panel.labelling
    assert view.is_active() and view.toggle.isChecked()
    assert panel.thumbs.rowCount() == 8 and "8 unlabelled" in panel.info_label.text()
    assert view.class_list.isVisible() and not panel.class_table.isVisible()
    # No class yet: the class list and the hint say to create one.
    assert view.class_list.empty.isVisible() and "Create a class" in view.class_list.empty.text()
    assert "Create a class to start labelling" in view.hint.text()
    _key(panel, Qt.Key.Key_1)
    assert "No class has the key 1" in view.hint.text()
    assert load_overlay(str(root)).labels == {}


def test_keys_label_and_the_next_image_is_shown_with_undo(qtbot, panel, tmp_path):
    root = loose(tmp_path / "photos", n=6)
    _open(qtbot, panel, root)
    view = panel.labelling
    assert view.add_class("cat") and view.add_class("dog")
    # The class list and the hint follow in the next turn of the event loop.
    qtbot.waitUntil(lambda: view.class_list.classes() == ["cat", "dog"], timeout=5000)
    assert [view.class_list.table.item(r, 0).text() for r in range(2)] == ["1", "2"]
    assert "1 cat" in view.hint.text() and "2 dog" in view.hint.text()
    first = _current_path(panel)
    assert first.endswith("img_000.png")
    # The preview follows the selection.
    qtbot.waitUntil(lambda: "img_000.png" in _info(panel), timeout=10000)
    _key(panel, Qt.Key.Key_2)
    assert load_overlay(str(root)).state(first) == ("dog", False)
    assert _current_path(panel).endswith("img_001.png")       # the next unlabelled image
    qtbot.waitUntil(lambda: "img_001.png" in _info(panel), timeout=10000)
    assert panel.thumbs.index(0, 0).data(Qt.ItemDataRole.DisplayRole) == "→ dog"
    qtbot.waitUntil(lambda: view.class_list.table.item(1, 2).text() == "1", timeout=5000)
    # Two labels given to one image keep the last; undo goes back one at a time.
    panel.grid.setCurrentIndex(panel.thumbs.index(0, 0))
    _key(panel, Qt.Key.Key_1)
    assert load_overlay(str(root)).state(first) == ("cat", False)
    fixes = view.fixes
    fixes.undo()
    assert load_overlay(str(root)).state(first) == ("dog", False)
    fixes.undo()
    assert load_overlay(str(root)).state(first) == (None, False)
    qtbot.waitUntil(lambda: view.class_list.table.item(1, 2).text() == "0", timeout=5000)
    # Reopened, a labelled image is a row of its class; the rest stay unlabelled.
    _key(panel, Qt.Key.Key_1)
    labels_saved()
    index = open_dataset(root)
    assert index.classes == ["cat", "dog"] and len(index.unlabelled) == 5


def test_multi_select_labels_many_at_once(qtbot, panel, tmp_path):
    root = loose(tmp_path / "photos", n=6)
    _open(qtbot, panel, root)
    view = panel.labelling
    view.add_class("a")
    view.add_class("b")
    sel = panel.grid.selectionModel()
    sel.clearSelection()
    for r in (1, 2, 4):   # as ctrl-clicks do: the last one clicked is the current one
        sel.setCurrentIndex(panel.thumbs.index(r, 0), QItemSelectionModel.SelectionFlag.Select)
    picked = view.selected_paths()
    assert len(picked) == 3
    _key(panel, Qt.Key.Key_2)
    ov = load_overlay(str(root))
    assert all(ov.state(p) == ("b", False) for p in picked)
    assert _current_path(panel).endswith("img_005.png")   # after the last one selected
    view.fixes.undo()                                     # one step for the three
    assert all(load_overlay(str(root)).state(p) == (None, False) for p in picked)


def test_digit_names_pick_their_class_and_classes_rename_and_delete(qtbot, panel, tmp_path):
    root = make_class_folder(tmp_path / "digits", classes=("3", "7"), per_class=3, size=8)
    loose(root, n=3, size=8)
    _open(qtbot, panel, root)
    view = panel.labelling
    assert not view.is_active() and panel.class_filter.itemText(3) == "Unlabelled (3)"
    view.set_active(True)
    assert panel.thumbs.rowCount() == 3
    qtbot.waitUntil(lambda: view.class_list.classes() == ["3", "7"], timeout=5000)
    keys = {view.class_list.table.item(r, 1).text(): view.class_list.table.item(r, 0).text()
            for r in range(2)}
    assert keys == {"3": "3", "7": "7"}
    first = _current_path(panel)
    _key(panel, Qt.Key.Key_7)
    assert load_overlay(str(root)).state(first) == ("7", False)
    _key(panel, Qt.Key.Key_1)            # no class "1": the first free key is nobody's
    assert "No class has the key 1" in view.hint.text()
    # Rename a class folder: mapped in the overlay, the folder keeps its name; Ctrl+Z undoes.
    assert view.rename_class("7", "seven")
    assert panel.state.dataset.classes == ["3", "seven"]
    assert load_overlay(str(root)).state(first) == ("seven", False)
    assert os.path.isdir(root / "7") and not os.path.exists(root / "seven")
    qtbot.waitUntil(lambda: panel.class_filter.itemText(2) == "seven", timeout=5000)
    view.fixes.undo()
    assert panel.state.dataset.classes == ["3", "7"]
    assert load_overlay(str(root)).state(first) == ("7", False)
    assert not view.add_class("3") and "already" in view.hint.text()
    # Delete a class: the dataset is reopened, its images are unlabelled, no file moves.
    with qtbot.waitSignal(panel.state.datasetChanged, timeout=20000):
        assert view.delete_class("3")
    qtbot.waitUntil(lambda: not panel.pending_work(), timeout=20000)
    assert panel.state.dataset.classes == ["7"] and view.is_active()
    assert len(panel.state.dataset.unlabelled) == 2 + 3
    assert sorted(os.listdir(root / "3")) == ["3_000.png", "3_001.png", "3_002.png"]


def test_no_unlabelled_images_says_so(qtbot, panel, tmp_path):
    root = make_class_folder(tmp_path / "d", classes=("a", "b"), per_class=2, size=8)
    _open(qtbot, panel, root)
    panel.labelling.set_active(True)
    assert panel.thumbs.rowCount() == 0
    assert panel.labelling.hint.text().startswith("No unlabelled images")
    panel.labelling.set_active(False)
    assert panel.thumbs.rowCount() == 4 and not panel.labelling.hint.isVisible()


def test_queue_api_shows_items_in_order_and_enter_accepts_the_suggestion(qtbot, panel, tmp_path):
    root = loose(tmp_path / "photos", n=6)
    _open(qtbot, panel, root)
    view = panel.labelling
    view.add_class("round")
    view.add_class("square")
    paths = sorted(str(p) for p in root.glob("*.png"))
    got = []
    view.labelled.connect(lambda ps, c: got.append((list(ps), c)))
    view.set_queue([{"path": paths[4], "suggested": "square", "score": 0.83},
                    {"path": paths[1], "suggested": "round", "score": 0.6},
                    {"path": paths[0], "suggested": None, "score": None}])
    model = panel.thumbs
    assert [model.index(r, 0).data(PathRole) for r in range(3)] == [paths[4], paths[1], paths[0]]
    assert model.index(0, 0).data(Qt.ItemDataRole.DisplayRole) == "square? 83%"
    assert _current_path(panel) == paths[4]
    _key(panel, Qt.Key.Key_Return)
    assert load_overlay(str(root)).state(paths[4]) == ("square", False)
    assert _current_path(panel) == paths[1] and got == [([paths[4]], "square")]
    qtbot.waitUntil(lambda: "Enter accepts the suggestion" in view.hint.text(), timeout=5000)
    _key(panel, Qt.Key.Key_1)              # a key overrides the suggestion
    assert load_overlay(str(root)).state(paths[1]) == ("round", False)
    assert model.index(2, 0).data(LabelRole) == "unlabelled"
    view.clear_queue()
    assert model.rowCount() == 6


def test_next_preview_is_decoded_ahead(qtbot, panel, tmp_path):
    root = loose(tmp_path / "photos", n=6, size=32)
    _open(qtbot, panel, root)
    view = panel.labelling
    view.add_class("x")
    qtbot.waitUntil(lambda: len(view.previews) >= 3 and not panel.pending_work(), timeout=10000)
    nxt = panel.thumbs.index(1, 0).data(PathRole)
    assert nxt in view.previews and view.previews[nxt]["image"] is not None
    _key(panel, Qt.Key.Key_1)
    # Shown in the key press's own event: no job to wait for.
    assert os.path.basename(nxt) in _info(panel)
    assert np.asarray(view.previews[nxt]["image"]).shape[:2] == (32, 32)


def test_previews_ahead_are_made_to_fit_on_a_pool_thread(qtbot, panel, tmp_path, monkeypatch):
    """The preview decoded ahead comes with its QImage already scaled to the size the
    preview shows, made on a pool thread: the key press only wraps it in a pixmap (the
    conversion and smooth scaling were ~2-3 ms of the GUI thread per press)."""
    import threading

    from workbench.workers import preview_ahead

    made_on_gui_thread = []
    real = preview_ahead.fitted_qimage

    def recording(arr, fit):
        made_on_gui_thread.append(threading.current_thread() is threading.main_thread())
        return real(arr, fit)

    monkeypatch.setattr(preview_ahead, "fitted_qimage", recording)
    _labelling_grey_photos(qtbot, panel, tmp_path / "photos", 4, step=40)
    view = panel.labelling
    nxt = panel.thumbs.index(1, 0).data(PathRole)
    qtbot.waitUntil(lambda: nxt in view.previews and not panel.pending_work(), timeout=20000)
    image = view.previews[nxt]["qimage"]
    fit_w, fit_h = panel.preview.fit_size()
    assert (image.width() == fit_w and image.height() <= fit_h) or (
        image.height() == fit_h and image.width() <= fit_w), (image.size(), (fit_w, fit_h))
    assert made_on_gui_thread and not any(made_on_gui_thread)
    _key(panel, Qt.Key.Key_1)
    assert _current_path(panel) == nxt
    assert panel.preview.image.pixmap().size() == image.size()   # shown as made: not rescaled


def test_a_held_key_shows_the_thumbnail_at_once_and_the_sharp_preview_when_keys_stop(
        qtbot, panel, tmp_path):
    """Keys faster than previews decode: the next image's grid thumbnail is shown in the
    key press itself, and its preview (decoded at the preview box's size) replaces it
    once the keys stop; nothing is decoded for images passed while the key was down."""
    _labelling_grey_photos(qtbot, panel, tmp_path / "photos", 12)
    view = panel.labelling
    qtbot.waitUntil(lambda: all(panel.thumbs.index(r, 0).data(ThumbnailRole) is not None
                                for r in range(6)) and not panel.pending_work(), timeout=20000)
    view.ahead.clear()   # nothing decoded ahead: every press below finds no preview ready
    qtbot.waitUntil(lambda: not view.ahead.pending(), timeout=5000)
    for expected_row in (1, 2, 3):
        view.ahead.clear()
        _key(panel, Qt.Key.Key_1)
        path = _current_path(panel)
        assert path == panel.thumbs.index(expected_row, 0).data(PathRole)
        # Shown at once: the thumbnail (a pixmap), not "Loading…".
        assert view.reduced_path() == path and panel.preview._pixmap is not None
        assert panel.preview._pixmap.width() == 88
    # The keys stopped on img_003: its preview is decoded and replaces the thumbnail.
    qtbot.waitUntil(lambda: view.reduced_path() is None, timeout=10000)
    assert _current_path(panel) == path
    assert "800 × 600" in _info(panel)
    box = view.preview_box()
    pix = panel.preview._pixmap
    assert pix.width() <= box[0] and pix.height() <= box[1] and max(pix.width(), pix.height()) >= 150
    assert set(view.previews) >= {path}
    qtbot.waitUntil(lambda: not panel.pending_work(), timeout=10000)


def _queue_items(paths):
    return [{"path": p, "suggested": None, "score": None} for p in paths]


def test_the_images_shown_after_the_queue_are_decoded_ahead(qtbot, panel, tmp_path):
    """Label next shows its ranking 50 at a time: near the shown queue's end, the previews
    of what comes after it (``set_queue``'s ``upcoming``) are decoded ahead. Without it the
    first image of each next 50 had neither preview nor thumbnail when a held key reached
    it: painted 170-190 ms after the press (bench/labelling_latency.py --jpeg)."""
    paths = _labelling_grey_photos(qtbot, panel, tmp_path / "photos", 8)
    view = panel.labelling
    view.set_queue(_queue_items(paths[:3]), upcoming=paths[3:6])
    assert view.upcoming() == tuple(paths[3:6]) and panel.thumbs.rowCount() == 3
    view.ahead.clear()   # forget what was decoded ahead while the grid showed all 8
    _key(panel, Qt.Key.Key_1)
    _key(panel, Qt.Key.Key_1)
    assert _current_path(panel) == paths[2]   # the shown queue's last image
    qtbot.waitUntil(lambda: paths[3] in view.previews and paths[4] in view.previews, timeout=10000)
    view.clear_queue()
    assert view.upcoming() == ()
    qtbot.waitUntil(lambda: not panel.pending_work(), timeout=10000)


def test_a_held_key_decodes_an_image_without_a_thumbnail_at_once(qtbot, panel, tmp_path, monkeypatch):
    """A held key passes images before they decode, so their previews wait until the keys
    stop (``REFINE_MS``) and the thumbnail is shown meanwhile; an image with no thumbnail
    yet (a new queue's, far down the grid) would show nothing until then: it is decoded at
    once."""
    paths = _labelling_grey_photos(qtbot, panel, tmp_path / "photos", 8, shape=(48, 64))
    view = panel.labelling
    panel.thumbs.set_index(panel.state.dataset)   # forgets every thumbnail (none are made
    view.set_queue(_queue_items(paths[-4:]))      # again before the event loop turns)
    _key(panel, Qt.Key.Key_1)
    view.ahead.clear()   # nothing decoded or asked ahead: the press below finds no preview
    asked = []
    real_want = view.ahead.want
    monkeypatch.setattr(view.ahead, "want", lambda paths, *a, **k: (asked.append(list(paths)),
                                                                   real_want(paths, *a, **k)))
    _key(panel, Qt.Key.Key_1)   # within REFINE_MS of the first: a held key
    path = _current_path(panel)
    assert path == paths[-2]
    assert panel.thumbs.index(2, 0).data(ThumbnailRole) is None   # no thumbnail to show yet
    assert asked and asked[-1][:1] == [path], "its preview waits for the keys to stop"
    qtbot.waitUntil(lambda: view.reduced_path() is None, timeout=10000)   # then shown sharp
    assert "64 × 48" in _info(panel)
    view.clear_queue()
    qtbot.waitUntil(lambda: not panel.pending_work(), timeout=10000)


def test_deleting_a_class_is_undone_and_redone_with_the_keys(qtbot, tmp_path, monkeypatch):
    """Issue 23: Delete (the class list's button, answered Yes) reopens the dataset, and
    Ctrl+Z brings the class and its labels back (the history survives the reopen: a
    second undo takes back the label given before); Edit → Redo deletes it again."""
    from PySide6.QtWidgets import QApplication

    from tests.workbench.panels import answer_box, make_window

    window = make_window(qtbot, tmp_path, monkeypatch, size=(1280, 800))
    root = loose(tmp_path / "photos", n=6)
    panel = window.panels["data"]
    with qtbot.waitSignal(panel.state.datasetChanged, timeout=20000):
        window.open_dataset(str(root))
    qtbot.waitUntil(lambda: not panel.pending_work(), timeout=20000)
    view = panel.labelling
    assert view.add_class("a") and view.add_class("b")
    first = _current_path(panel)
    _key(panel, Qt.Key.Key_1)
    second = _current_path(panel)
    _key(panel, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: view.class_list.classes() == ["a", "b"], timeout=5000)
    view.class_list.select("a")
    assert view.class_list.delete_button.isEnabled()
    seen = []
    answer_box("Yes", seen)
    with qtbot.waitSignal(panel.state.datasetChanged, timeout=20000):
        view.class_list.delete_button.click()
    qtbot.waitUntil(lambda: not panel.pending_work(), timeout=20000)
    assert "Ctrl+Z" in seen[0]
    assert panel.state.dataset.classes == ["b"] and load_overlay(str(root)).state(first) == (None, False)
    assert window.undo_action.isEnabled() and "Delete class a" in window.undo_action.text()

    def keys():
        window.activateWindow()
        QApplication.setActiveWindow(window)   # offscreen: no window manager activates it
        panel.grid.setFocus()
        with qtbot.waitSignal(panel.state.datasetChanged, timeout=20000):
            QTest.keyClick(panel.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: not panel.pending_work(), timeout=20000)

    keys()   # Ctrl+Z: the class and its label are back
    assert panel.state.dataset.classes == ["a", "b"]
    assert load_overlay(str(root)).state(first) == ("a", False)
    assert view.is_active() and view.class_list.classes() == ["a", "b"]
    assert window.redo_action.isEnabled(), window.redo_action.text()
    with qtbot.waitSignal(panel.state.datasetChanged, timeout=20000):
        window.redo_action.trigger()   # Edit → Redo: deleted again
    qtbot.waitUntil(lambda: not panel.pending_work(), timeout=20000)
    assert panel.state.dataset.classes == ["b"] and load_overlay(str(root)).state(first) == (None, False)
    keys()
    assert load_overlay(str(root)).state(first) == ("a", False)
    # The history from before the reopens is still there: the label given to the second.
    window.undo_action.trigger()
    assert load_overlay(str(root)).state(second) == (None, False)
    assert load_overlay(str(root)).state(first) == ("a", False)
