"""Relabel keys pick a class by its name when a class is named by that digit (issue 22
item 1): on "labelled 3, looks like 6" key 6 means class "6", key 9 reaches class "9",
and key 0 reaches class "0". Other class lists keep keys by position, as the menu shows.
Data health offers "Accept suggestion" (Enter)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.imagegen import make_class_folder
from tests.workbench.panels import make_panel
from workbench.actions.fixes import class_keys
from workbench.appstate.state import AppState
from workbench.widgets.path_menu import shown_path_menu

DIGITS = tuple(str(d) for d in range(10))


def test_class_keys_match_digit_names_then_position():
    assert class_keys(DIGITS) == {d: d for d in DIGITS}
    assert class_keys(["cat", "dog", "fox"]) == {"1": "cat", "2": "dog", "3": "fox"}
    # Digit-named classes keep their digit; the others get the free keys in order.
    assert class_keys(["2", "5", "cat"]) == {"2": "2", "5": "5", "1": "cat"}
    eleven = [f"c{i}" for i in range(11)]
    keys = class_keys(eleven)
    assert len(keys) == 10 and keys["1"] == "c0" and keys["0"] == "c9" and "c10" not in keys.values()


@pytest.fixture
def digits_gallery(qtbot, tmp_path):
    """A gallery with fixes on a dataset of classes "0" … "9" (sorted as strings)."""
    from training.data import DatasetSpec, open_dataset
    from workbench.actions.fixes import fixes_for
    from workbench.widgets.image_gallery import ImageGallery

    root = make_class_folder(tmp_path / "digits", classes=DIGITS, per_class=2, size=8)
    state = AppState()
    spec = DatasetSpec(str(root))
    state.set_dataset(spec, open_dataset(spec))
    gallery = ImageGallery()
    qtbot.addWidget(gallery)
    fixes = fixes_for(state)
    gallery.enable_fixes(fixes)
    gallery.resize(600, 400)
    gallery.show()
    yield gallery, state, fixes
    gallery.shutdown()


def _show_one(gallery, state, given: str, suggested: str) -> str:
    path = next(p for p, lab in zip(state.dataset.paths, state.dataset.labels)
                if state.dataset.classes[int(lab)] == given)
    gallery.set_items([{"path": path, "true": given, "pred": suggested, "suggested": suggested,
                        "correct": False}], state.dataset)
    gallery.list.setFocus()
    gallery.list.setCurrentRow(0)
    return path


def test_digit_key_relabels_to_the_class_named_by_it(qtbot, digits_gallery):
    gallery, state, fixes = digits_gallery
    path = _show_one(gallery, state, "3", "6")
    QTest.keyClick(gallery.list, Qt.Key.Key_6)
    assert fixes.label_of(path) == "6"       # by position it was class "5"
    QTest.keyClick(gallery.list, Qt.Key.Key_9)
    assert fixes.label_of(path) == "9"       # by position class "9" had no key
    QTest.keyClick(gallery.list, Qt.Key.Key_0)
    assert fixes.label_of(path) == "0"
    # The right-click menu shows the same keys.
    rect = gallery.list.visualItemRect(gallery.list.item(0))
    gallery.list.customContextMenuRequested.emit(rect.center())
    menu = shown_path_menu(gallery.list)
    relabel = next(a.menu() for a in menu.actions() if a.text() == "Relabel as")
    shortcuts = {a.text().split()[0]: a.shortcut().toString() for a in relabel.actions()}
    assert shortcuts == {d: d for d in DIGITS}
    menu.close()


def test_enter_accepts_the_suggestion_with_one_undo(qtbot, digits_gallery):
    gallery, state, fixes = digits_gallery
    path = _show_one(gallery, state, "3", "6")
    QTest.keyClick(gallery.list, Qt.Key.Key_Return)
    assert fixes.label_of(path) == "6"
    fixes.undo()
    assert fixes.label_of(path) == "3"


def test_position_keys_on_named_classes(qtbot, tmp_path):
    from training.data import DatasetSpec, open_dataset
    from workbench.actions.fixes import fixes_for
    from workbench.widgets.image_gallery import ImageGallery

    root = make_class_folder(tmp_path / "pets", classes=("cat", "dog", "fox"), per_class=2, size=8)
    state = AppState()
    spec = DatasetSpec(str(root))
    state.set_dataset(spec, open_dataset(spec))
    gallery = ImageGallery()
    qtbot.addWidget(gallery)
    fixes = fixes_for(state)
    gallery.enable_fixes(fixes)
    gallery.show()
    try:
        path = _show_one(gallery, state, "cat", "fox")
        QTest.keyClick(gallery.list, Qt.Key.Key_2)
        assert fixes.label_of(path) == "dog"
    finally:
        gallery.shutdown()


def test_health_view_accept_suggestion_button_and_hint(qtbot, tmp_path):
    from training.data import DatasetSpec, open_dataset
    from workbench.panels.health import ISSUES, HealthView

    root = make_class_folder(tmp_path / "digits", classes=DIGITS, per_class=2, size=8)
    state = AppState()
    spec = DatasetSpec(str(root))
    state.set_dataset(spec, open_dataset(spec))
    view = make_panel(qtbot, HealthView, state=state, size=(1000, 500), show=True)
    try:
        assert "digit = that class" in view.keys_hint.text() and "Enter" in view.keys_hint.text()
        path = state.dataset.paths[6]
        given = state.dataset.classes[int(state.dataset.labels[6])]
        view.report = {"classes": list(state.dataset.classes), "label_issues": {"items": [
            {"path": path, "given": given, "suggested": "8", "confidence": 0.9, "split": "train",
             "score": 0.01}]}}
        view.view_choice.setCurrentIndex(ISSUES)
        view._show_view()
        assert view.accept_button.isVisible() and view.accept_button.isEnabled()
        view.gallery.list.setCurrentRow(0)
        view.accept_button.click()
        assert view.fixes.label_of(path) == "8"
    finally:
        view.shutdown()
