"""Label fixes on the Dataset panel: the number of overrides, a "Changed only" filter, and
relabel/exclude/restore on the thumbnail grid (right-click and keys, see workbench.actions.fixes).

``attach_fixes(panel, filters_layout)`` wires a built panel and returns the two widgets it
adds (the panel keeps them as its own attributes); kept out of ``dataset.py``.
``foreign_labels_banner(panel)`` is the question about label fixes that came with the
dataset (made elsewhere, issue 25): they are not used until the user applies them.
"""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QFrame, QHBoxLayout, QLabel, QPushButton

from workbench.actions.fix_menu import add_fix_actions, install_fix_keys
from workbench.actions.fixes import fixes_for
from workbench.itemmodels.thumbnails import PathRole
from workbench.widgets.path_menu import install_path_menu


def changed_only_rows(state):
    """Rows of ``state.dataset`` whose label was changed or that were excluded since it was
    opened (the grid adds the images excluded before, see ThumbnailModel.set_index)."""
    import numpy as np

    from training.data.overlay_apply import changed_rows

    index = state.dataset
    rows = changed_rows(index)
    overlay = fixes_for(state).overlay
    if overlay is not None and overlay.excluded:
        excluded = [i for i, p in enumerate(index.paths) if overlay.key(p) in overlay.excluded]
        rows = np.union1d(rows, np.asarray(excluded, np.int64))
    return rows


def attach_fixes(panel, filters_layout) -> tuple[QCheckBox, QLabel]:
    """Returns ``(changed_filter, fix_label)``."""
    fixes = fixes_for(panel.state)
    changed_filter = QCheckBox("Changed only")
    changed_filter.setToolTip("Show only images you relabelled or excluded (greyed); "
                                    "select one and press R, or right-click → Restore, to undo the fix")
    fix_label = QLabel("")
    fix_label.setStyleSheet("color: #555;")
    # Wraps ("34 label / fixes") rather than widening the filter row: with the split settings
    # beside it, one line pushed a 1024 px window to 1057 px.
    fix_label.setWordWrap(True)
    filters_layout.addWidget(changed_filter)
    filters_layout.addWidget(fix_label)
    changed_filter.toggled.connect(lambda _on: panel.apply_filter())

    def selected_paths() -> list[str]:
        sel = panel.grid.selectionModel().selectedIndexes() if panel.grid.selectionModel() else []
        if not sel and panel.grid.currentIndex().isValid():
            sel = [panel.grid.currentIndex()]
        return [i.data(PathRole) for i in sel if i.data(PathRole)]

    def path_at(pos):
        index = panel.grid.indexAt(pos)
        return index.data(PathRole) if index.isValid() else None

    def extra(menu, path):
        paths = selected_paths()
        add_fix_actions(menu, paths if path in paths else [path], fixes)

    install_path_menu(panel.grid, path_at, extra)  # replaces the plain path menu
    install_fix_keys(panel.grid, selected_paths, fixes)
    panel.thumbs.set_marker(fixes.mark)  # "→ Coat" / "excluded" (greyed) on grid items

    def on_changed() -> None:
        n = fixes.count()
        ov = fixes.overlay
        excluded = len(ov.excluded) if ov is not None else 0
        fix_label.setText(f"{n} label fix{'es' if n != 1 else ''}"
                                + (f" ({excluded} excluded)" if excluded else "") if n else "")
        if changed_filter.isChecked():
            panel.apply_filter()
        else:
            panel.thumbs.refresh_marks(fixes.last_changed)

    fixes.changed.connect(on_changed)
    on_changed()
    return changed_filter, fix_label


APPLY_TEXT, IGNORE_TEXT = "Apply them", "Ignore them"


class ForeignLabelsBanner(QFrame):
    """"N label fixes and M exclusions come with this dataset (made elsewhere)", with
    Apply them / Ignore them. Shown while the open dataset carries label fixes this user
    did not make here; the answer is remembered per dataset and content
    (``training.data.provenance``), so it is asked once."""

    def __init__(self, panel):
        super().__init__()
        self.panel = panel
        self.fixes = fixes_for(panel.state)
        self.setStyleSheet("ForeignLabelsBanner { background: #fff4d6; border: 1px solid #f0d58c;"
                           " border-radius: 4px; } QLabel { color: #5c3d00; }")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.apply_button = QPushButton(APPLY_TEXT)
        self.apply_button.setToolTip("Use these fixes for training and evaluation (remembered "
                                     "for this dataset)")
        self.ignore_button = QPushButton(IGNORE_TEXT)
        self.ignore_button.setToolTip("Use the dataset's own labels; fixes you make here replace "
                                      "these (a copy is kept in the app data folder)")
        row.addWidget(self.text, 1)
        row.addWidget(self.apply_button)
        row.addWidget(self.ignore_button)
        self.apply_button.clicked.connect(lambda: self._answer("apply"))
        self.ignore_button.clicked.connect(lambda: self._answer("ignore"))
        self.fixes.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        from training.data.overlay_apply import foreign_message

        foreign = self.fixes.foreign
        self.setVisible(bool(foreign))
        if not foreign:
            return
        decision = foreign.get("decision")
        text = foreign_message(foreign)
        if decision is None:
            text += (" They relabel images or leave them out of training: apply them only if "
                     "you trust whoever made this dataset.")
        self.text.setText(text)
        self.text.setToolTip(str(foreign.get("path") or ""))
        self.apply_button.setVisible(decision != "apply")
        self.apply_button.setText(APPLY_TEXT if decision is None else "Apply them instead")
        self.ignore_button.setVisible(decision is None)

    def _answer(self, answer: str) -> None:
        self.fixes.answer_foreign(answer)
        state = self.panel.state
        if answer == "apply" and state.dataset_spec is not None:
            self.panel.open_spec(state.dataset_spec)   # reopened with the fixes applied
        elif state.dataset is not None:
            state.statusMessage.emit("The label fixes that came with this dataset are ignored.")


def foreign_labels_banner(panel) -> ForeignLabelsBanner:
    return ForeignLabelsBanner(panel)
