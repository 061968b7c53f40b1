"""The user guide (issue 22 item 13): Help → User guide opens it from the package (works
offline, in a QTextBrowser), every picture it links exists and is loaded, the pictures
stay small, and every panel, menu entry, tab and control it names is in the app."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QAbstractButton, QComboBox, QTabWidget

from tests.workbench.panels import make_window
from workbench.actions.helpmenu import guide_file
from workbench.mainwindow import PANEL_KEYS

GUIDE = Path(str(guide_file()))
HTML = GUIDE.read_text(encoding="utf-8")
TASKS = ("first-model", "results", "fix-labels", "classify", "export", "follow")


def _attrs(name: str) -> list[str]:
    return re.findall(rf'{name}="([^"]+)"', HTML)


def test_guide_ships_in_the_package_with_every_picture():
    assert GUIDE.is_file() and "workbench" in GUIDE.parts
    images = _attrs("src")
    assert len(images) >= 6
    for src in images:
        assert not re.match(r"^[a-z]+://", src), f"{src}: the guide must work offline"
        assert (GUIDE.parent / src).is_file(), f"{src} is linked but missing"
    for task in TASKS:   # a section, with at least one picture, for every task
        section = HTML.split(f'name="{task}"', 1)[1].split("<h2>", 1)[0]
        assert "<img " in section, task
    total = sum(p.stat().st_size for p in (GUIDE.parent / "images").glob("*.png"))
    assert total < 1_000_000, f"guide pictures take {total:,} bytes"
    unused = {p.name for p in (GUIDE.parent / "images").glob("*")} - {Path(s).name for s in images}
    assert not unused, f"pictures nothing links: {unused}"


def test_pyproject_ships_the_guide_as_package_data():
    import tomllib

    root = Path(__file__).resolve().parents[2]
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = data["workbench"]
    rel = GUIDE.relative_to(root / "workbench")
    assert any(rel.match(p) for p in patterns)
    assert any(Path("guide/images/x.png").match(p) for p in patterns)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    w = make_window(qtbot, tmp_path, monkeypatch, size=(1280, 800))
    yield w
    w.shutdown()


def _menu_entries(window) -> set[str]:
    out = set()
    for top in window.menuBar().actions():
        for act in top.menu().actions():
            out.add(f"{top.text().replace('&', '')}/{act.text().replace('&', '').split(chr(9))[0]}")
    return out


def test_help_user_guide_opens_it_with_its_pictures(qtbot, window):
    from PySide6.QtCore import QUrl

    window.help_actions["guide"].trigger()
    from workbench.actions.helpmenu import GuideDialog

    dialog = window.findChild(GuideDialog)
    assert dialog is not None and dialog.isVisible()
    doc = dialog.browser.document()
    assert "Your first model" in doc.toPlainText()
    for src in _attrs("src"):
        url = dialog.browser.source().resolved(QUrl(src))
        image = doc.resource(QTextDocument.ResourceType.ImageResource, url)
        assert image is not None and not image.isNull(), src
    dialog.browser.anchorClicked.emit(QUrl("#follow"))   # the contents' links work
    assert dialog.browser.verticalScrollBar().value() > 0
    dialog.browser.anchorClicked.emit(QUrl("https://example.com/"))   # never goes online
    assert dialog.browser.source().isLocalFile()
    dialog.close()


def test_every_panel_menu_tab_and_control_the_guide_names_exists(qtbot, window):
    panels = set(_attrs("data-panel"))
    assert panels == set(PANEL_KEYS)   # every panel is explained
    for key in panels:
        window.show_panel(key)
        assert window.current_panel_key() == key
        assert type(window.panels[key]).__name__ != "PlaceholderPanel"
    menus = _menu_entries(window)
    for path in _attrs("data-menu"):
        assert any(m == path or m.startswith(path) for m in menus), (path, sorted(menus))
    for spec in _attrs("data-button"):
        key, text = spec.split(":", 1)
        found = [b.text().replace("&", "") for b in window.panels[key].findChildren(QAbstractButton)]
        assert text in found, (spec, found)
    for spec in _attrs("data-tab"):
        key, text = spec.split(":", 1)
        tabs = [t.tabText(i) for t in window.panels[key].findChildren(QTabWidget) for i in range(t.count())]
        assert any(t.startswith(text) for t in tabs), (spec, tabs)
    for spec in _attrs("data-combo"):
        key, text = spec.split(":", 1)
        items = [c.itemText(i) for c in window.panels[key].findChildren(QComboBox) for i in range(c.count())]
        assert text in items, (spec, items)
    for spec in _attrs("data-dialog"):
        name, text = spec.split(":", 1)
        assert name == "export"
        from workbench.widgets.export_dialog import ExportDialog
        from tests.workbench.tiny_run import tiny_run

        dialog = ExportDialog(tiny_run()["run_dir"], window)
        assert text in [b.text() for b in dialog.findChildren(QAbstractButton)]
        dialog.close()
        dialog.deleteLater()
