"""Right-click menus for anything that shows files: "Open containing folder" and
"Copy path", on the runs list, the galleries, the thumbnail grid and Classify's list.

``install_path_menu(view, path_at)`` wires a view: ``path_at(pos)`` returns the file
path under the cursor (or None). Array samples (``file.npz#12``) have no file of their
own; the menu then names the array file.
"""
from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMenu

from workbench.actions import shortcuts


def real_path(path: str) -> str:
    """``/data/x.npz#12`` -> ``/data/x.npz``; a plain path unchanged."""
    if "#" in path and not os.path.exists(path):
        return path.rsplit("#", 1)[0]
    return path


def open_containing_folder(path: str) -> bool:
    """Show the folder holding ``path`` (or ``path`` itself when it is a folder)."""
    path = real_path(path)
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(folder))


def copy_path(path: str) -> None:
    QGuiApplication.clipboard().setText(real_path(path))


def add_path_actions(menu: QMenu, path: str) -> None:
    menu.addAction("Open containing folder").triggered.connect(
        lambda _=False: open_containing_folder(path))
    act = menu.addAction("Copy path")
    act.setShortcut(shortcuts.sequence("copy_path"))   # shown in the menu; works while open
    act.triggered.connect(lambda _=False: copy_path(path))


def path_menu(parent, path: str, extra: Callable[[QMenu], None] | None = None) -> QMenu:
    menu = QMenu(parent)
    if extra is not None:
        extra(menu)
        menu.addSeparator()
    add_path_actions(menu, path)
    return menu


MENU_NAME = "pathMenu"


def shown_path_menu(view) -> QMenu | None:
    """The context menu :func:`install_path_menu` showed last on ``view`` (tests trigger
    its actions), or None."""
    menus = view.findChildren(QMenu, MENU_NAME, Qt.FindChildOption.FindDirectChildrenOnly)
    return menus[-1] if menus else None


def install_path_menu(view, path_at: Callable[[QPoint], str | None],
                      extra: Callable[[QMenu, str], None] | None = None) -> None:
    """Give ``view`` a context menu for the file under the cursor (see
    :func:`shown_path_menu`)."""
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def show(pos: QPoint) -> None:
        path = path_at(pos)
        if not path:
            return
        for old in view.findChildren(QMenu, MENU_NAME, Qt.FindChildOption.FindDirectChildrenOnly):
            old.deleteLater()   # the menu shown before (closed by now)
        menu = path_menu(view, path, (lambda m: extra(m, path)) if extra else None)
        menu.setObjectName(MENU_NAME)
        menu.popup(view.viewport().mapToGlobal(pos) if hasattr(view, "viewport")
                   else view.mapToGlobal(pos))

    view.customContextMenuRequested.connect(show)
