"""The Results panel's Map tab: the run's images placed by its own features.

Opening the tab asks the compute service for the run's map (``EmbeddingMapJob``): the
first time it computes every image's features (progress shown), sends the PCA preview
within seconds and then the UMAP map; later it comes from the run folder's cache. The
map (``workbench.widgets.map_view``) is coloured by one field at a time, with a legend.
Hovering shows a thumbnail; a click shows the image in the panel's detail view
(probabilities, heatmap); a rectangle or lasso fills this tab's gallery, whose images can
be relabelled or excluded (right-click, digit keys, or the buttons here) through the label
overlay with undo. "More like this" lists the training images nearest to the current one.

The plot module (pyqtgraph) is imported when the tab is first shown, not at start-up.
"""
from __future__ import annotations

import importlib
import logging
import os
import sys
import time

import numpy as np
from PySide6.QtCore import QPoint, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QWidget)

from training.data.index import SPLIT_NAMES
from workbench.actions.fixes import fixes_for
from workbench.compute.requests import EmbeddingMapJob, SimilarJob
from workbench.widgets.error_details import error_html
from workbench.panels.results_map_layout import EMPTY, setup_ui
from workbench.widgets.map_colors import color_groups
from workbench.workers.gallery_images import ArrayLookup, image_for
from workbench.workers.job_runner import JobRunner

log = logging.getLogger(__name__)

GALLERY_LIMIT = 200
SIMILAR_K = 12
THUMB_SIDE = 96


class MapTab(QWidget):
    """The Map tab of ``panel`` (a :class:`~workbench.panels.results.ResultsPanel`)."""

    def __init__(self, panel, parent=None):
        super().__init__(parent)
        self.panel = panel
        self.state = panel.state
        self.fixes = fixes_for(panel.state)
        self.run_dir: str | None = None
        self.loaded_run: str | None = None
        self.points: dict | None = None
        self.labels = np.zeros(0, int)
        self.xy = None
        self.method = ""
        self.view = None           # the MapView, made when the tab is first shown
        self.current: int = -1     # the point last clicked
        self.selection = np.zeros(0, np.int64)
        self.last_hover_ms: float | None = None
        self._hover_t0 = 0.0
        self._hover_cache: dict = {}
        self._lookup = None
        self._touched: set[str] = set()
        self.warmed = False   # warm_up() ran (the import is started once per tab)
        self._runner = JobRunner(self)
        self._similar = JobRunner(self)
        setup_ui(self)
        self.color_by.currentTextChanged.connect(self._recolor)
        self.mode_buttons.buttonClicked.connect(self._on_mode)
        self.gallery.itemSelected.connect(self._on_gallery_item)
        self._update_buttons()
        self.fixes.changed.connect(self._on_fixes_changed)
        self.fixes.stack.canUndoChanged.connect(self.undo_button.setEnabled)

    # -- public ------------------------------------------------------------------------------
    def ensure_view(self):
        """Create the plot (imports pyqtgraph) the first time it is needed."""
        if self.view is None:
            from workbench.widgets.map_view import MapView

            self.view = MapView()
            self.view.hovered.connect(self._on_hover)
            self.view.clicked.connect(self._on_point_clicked)
            self.view.selectionChanged.connect(self._on_selection)
            self.plot_layout.addWidget(self.view)
            self.view.hide()
        return self.view

    def set_run(self, run_dir: str | None) -> None:
        """The panel shows ``run_dir``; the map loads when the tab is visible."""
        self.run_dir = run_dir
        if self.isVisible():
            self.load()

    def warm_up(self) -> None:
        """Import the plot's KD-tree module (~0.3 s) on a pool thread (no Qt in it), so
        showing the tab later holds the GUI thread for pyqtgraph only. The Results panel
        calls this once it is on screen with a run, not while a run ends behind another
        panel (that import ran beside the GUI thread then)."""
        if not self.run_dir or self.warmed:
            return
        self.warmed = True
        if "scipy.spatial" not in sys.modules:
            from workbench.workers.pool import app_pool

            app_pool().submit(importlib.import_module, "scipy.spatial")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.load()

    def load(self) -> None:
        """Ask for the shown run's map (nothing when it is already shown)."""
        if not self.run_dir or self.loaded_run == self.run_dir:
            if not self.run_dir:
                self._show_empty(EMPTY)
            return
        self.ensure_view()
        self.loaded_run = self.run_dir
        self.points, self.xy, self.current = None, None, -1
        self.selection = np.zeros(0, np.int64)
        self._hover_cache.clear()
        self.gallery.clear()
        self._show_empty("Loading the map… The first time, the model looks at every image "
                         "(a minute or two for 70,000 images); then it comes from the run folder.")
        job = EmbeddingMapJob(self.run_dir)
        job.points.connect(self._on_points)
        job.preview.connect(self._on_preview)
        self.progress.setRange(0, 0)
        self.progress.show()
        self._runner.start(job, finished=self._on_final, failed=self._on_failed,
                           progress=self.progress.show_job, status=self.status.setText,
                           done=self.progress.hide)

    def busy(self) -> bool:
        return self._runner.busy() or self._similar.busy()

    def pending_work(self) -> bool:
        return (self.busy() or self.gallery.pending_work()
                or (self.view is not None and self.view.drawing()))

    def shutdown(self) -> None:
        for part in (self._runner, self._similar, self.gallery):
            part.shutdown()

    # -- the map -----------------------------------------------------------------------------
    def _show_empty(self, text: str) -> None:
        self.placeholder.setText(text)
        self.placeholder.show()
        if self.view is not None:
            self.view.hide()
        self.status.setText("")
        self._update_buttons()

    @Slot(dict)
    def _on_points(self, pts: dict) -> None:
        self.points = pts
        self.labels = np.asarray(pts["labels"]).astype(int)
        self._lookup = ArrayLookup(self.state.dataset) if self.state.dataset is not None else None
        self.relabel_menu.clear()
        for c in pts["classes"]:
            self.relabel_menu.addAction(c, lambda c=c: self.relabel_selection(c))

    @Slot(object)
    def _on_preview(self, xy) -> None:
        if self.xy is None:   # a cached final map may already be shown
            self._show_xy(xy, "PCA preview (the UMAP map follows)")

    def _on_final(self, result: dict) -> None:
        final = result.get("final")
        if final is not None:
            self._show_xy(final, "UMAP")
        elif self.xy is not None:
            self.method = "PCA"
            self._update_status()

    def _show_xy(self, xy, method: str) -> None:
        if self.points is None:
            return
        view = self.ensure_view()
        self.xy = np.asarray(xy, np.float32)
        self.method = method
        axes = ("PC 1", "PC 2") if method.startswith("PCA") else ("UMAP 1", "UMAP 2")
        view.set_map(self.xy, axes)
        self._recolor()
        view.reset_view()
        if len(self.selection):
            view.set_highlight(self.selection)
        self.placeholder.hide()
        view.show()
        self._update_status()

    def _update_status(self) -> None:
        n = len(self.xy) if self.xy is not None else 0
        self.status.setText(f"{n:,} images · {self.method} of the model's features · hover for "
                            "a thumbnail, click for the image, Rectangle/Lasso to select")
        self._update_buttons()

    @Slot()
    def _recolor(self, *_args) -> None:
        if self.view is None or self.points is None or self.xy is None:
            return
        issues = self._issue_scores()
        groups, legend, note = color_groups(self.color_by.currentText(), self.points,
                                            self.labels, issues)
        self.view.set_colors(groups, legend)
        self.color_by.setToolTip(note or "Colour the points by this field")

    def _issue_scores(self) -> dict | None:
        report = getattr(self.panel.health, "report", None)
        if not report or (report.get("run_dir") and self.run_dir
                          and os.path.abspath(report["run_dir"]) != os.path.abspath(self.run_dir)):
            return None
        items = (report.get("label_issues") or {}).get("items") or []
        return {it["path"]: float(it.get("score", 0.0)) for it in items}

    @Slot(int, int, str)
    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.loaded_run = None   # try again next time
        self._show_empty("")
        self.status.setText(error_html(message))
        self.placeholder.setText("The map could not be made (see the message above).")

    # -- hover, click, selection ------------------------------------------------------------
    def item(self, i: int) -> dict:
        """A gallery/detail entry for point ``i``."""
        pts, classes = self.points, self.points["classes"]
        t, p = int(self.labels[i]), int(pts["predicted"][i])
        conf = float(pts["confidence"][i])
        path = pts["paths"][i]
        return {"path": path, "true": classes[t], "pred": classes[p], "prob": conf,
                "correct": t == p, "probabilities": [float(v) for v in pts["probabilities"][i]],
                "true_index": t, "position": int(i),
                "caption": f"True: {classes[t]} · Predicted: {classes[p]} ({conf:.1%})"
                           f"\n{os.path.basename(path)} · {SPLIT_NAMES[int(pts['splits'][i])]}"}

    @Slot(int)
    def _on_hover(self, i: int) -> None:
        if i < 0 or self.points is None:
            self.hover_label.hide()
            return
        self._hover_t0 = time.perf_counter()
        path = self.points["paths"][i]
        pix = self._hover_cache.get(path)
        if pix is not None:
            self._show_hover(i, pix)
            return
        arr = self._lookup.get(path) if self._lookup is not None else None
        if arr is not None:   # an array dataset's sample: already in memory
            from workbench.workers.gallery_images import fit_size

            self._hover_image(i, path, fit_size(arr, THUMB_SIDE))
            return
        from workbench.workers.pool import app_pool

        pool, lookup = app_pool(), self._lookup or ArrayLookup(None)

        def decode():   # a pool thread: plain data only, handed back with post()
            img, _reason = image_for(path, THUMB_SIDE, lookup)
            pool.post(self._hover_image, i, path, img)

        pool.submit(decode)

    def _hover_image(self, i: int, path: str, arr) -> None:
        from workbench.workers.qimages import image_to_qimage

        if arr is None or self.view is None or self.points is None or self.view.hover != i:
            return
        pix = QPixmap.fromImage(image_to_qimage(np.ascontiguousarray(arr)))
        if len(self._hover_cache) > 512:
            self._hover_cache.clear()
        self._hover_cache[path] = pix
        self._show_hover(i, pix)

    def _show_hover(self, i: int, pix: QPixmap) -> None:
        it = self.item(i)
        self.hover_label.setPixmap(pix)
        self.hover_label.setToolTip(it["caption"])
        self.hover_label.adjustSize()
        pos = self.mapFromGlobal(self.cursor().pos()) + QPoint(16, 16)
        pos.setX(min(pos.x(), self.width() - self.hover_label.width() - 4))
        pos.setY(min(pos.y(), self.height() - self.hover_label.height() - 4))
        self.hover_label.move(pos)
        self.hover_label.show()
        self.hover_label.raise_()
        self.last_hover_ms = (time.perf_counter() - self._hover_t0) * 1000

    @Slot(int)
    def _on_point_clicked(self, i: int) -> None:
        self.current = i
        self.view.set_highlight(np.concatenate([self.selection, [i]]))
        self._show_detail(self.item(i))
        self._update_buttons()

    def _show_detail(self, item: dict) -> None:
        self.panel.detail.show_item(item, list(self.points["classes"]), self.state.dataset)

    @Slot(dict)
    def _on_gallery_item(self, item: dict) -> None:
        if self.points is not None and item.get("position") is not None:
            self.current = int(item["position"])
            self._update_buttons()
        self._show_detail(item)

    @Slot(object)
    def _on_selection(self, sel) -> None:
        self.selection = np.asarray(sel, np.int64)
        self._fill_gallery(self.selection, f"{len(self.selection):,} selected on the map")
        self._update_buttons()

    def _fill_gallery(self, positions, note: str) -> None:
        shown = positions[:GALLERY_LIMIT]
        if len(positions) > GALLERY_LIMIT:
            note += f" (first {GALLERY_LIMIT} shown)"
        self.gallery_note.setText(note)
        self.gallery.set_items([self.item(int(i)) for i in shown], self.state.dataset,
                               empty_hint="No points in the selection.")

    def _update_buttons(self) -> None:
        have = self.points is not None and self.xy is not None
        self.similar_button.setEnabled(have and self.current >= 0)
        for b in (self.relabel_button, self.exclude_button):
            b.setEnabled(have and len(self.selection) > 0)
        self.undo_button.setEnabled(self.fixes.stack.canUndo())
        self.color_by.setEnabled(have)

    @Slot()
    def _on_mode(self, button) -> None:
        if self.view is not None:
            self.view.mode = button.property("mode")

    # -- fixes -------------------------------------------------------------------------------
    def selected_paths(self) -> list[str]:
        return [self.points["paths"][int(i)] for i in self.selection] if self.points else []

    def relabel_selection(self, label: str) -> None:
        paths = self.selected_paths()
        if paths:
            self._touched.update(paths)
            self.fixes.relabel(paths, label)

    @Slot()
    def exclude_selection(self) -> None:
        paths = self.selected_paths()
        if paths:
            self._touched.update(paths)
            self.fixes.exclude(paths)

    @Slot()
    def _on_fixes_changed(self) -> None:
        """Relabels (and their undo) recolour the points they touched."""
        self._update_buttons()
        if self.points is None or not self._touched:
            return
        classes = list(self.points["classes"])
        rows = {p: i for i, p in enumerate(self.points["paths"])} if len(self._touched) > 64 else None
        for path in self._touched:
            i = rows.get(path) if rows is not None else self.points["paths"].index(path)
            label = self.fixes.label_of(path)
            if i is not None and label in classes:
                self.labels[i] = classes.index(label)
        self._recolor()
        if len(self.selection):
            self._fill_gallery(self.selection, f"{len(self.selection):,} selected on the map")

    # -- more like this ------------------------------------------------------------------------
    @Slot()
    def more_like_this(self) -> None:
        if self.points is None or self.current < 0 or not self.run_dir:
            return
        path = self.points["paths"][self.current]
        job = SimilarJob(self.run_dir, [path], k=SIMILAR_K)
        self.gallery_note.setText("Finding similar training images…")
        self._similar.start(job, finished=self._on_similar, failed=self._on_similar_failed)

    def _on_similar(self, result: dict) -> None:
        res = (result.get("results") or [{}])[0]
        if res.get("error"):
            self._on_similar_failed(res["error"])
            return
        neigh = res.get("neighbours") or []
        pos = np.asarray([n["position"] for n in neigh], np.int64)
        self.similar_positions = pos
        if self.view is not None:
            self.view.set_highlight(np.concatenate([pos, [self.current]]))
        self.gallery_note.setText(f"The {len(pos)} training images most like "
                                  f"{os.path.basename(res.get('path', ''))}, nearest first")
        items = []
        for n, i in zip(neigh, pos):
            it = self.item(int(i))
            it["caption"] = f"{n['label']} · distance {n['distance']:.3f}\n{os.path.basename(n['path'])}"
            it["lines"] = [f"True: {it['true']}", f"Pred: {it['pred']}", f"d = {n['distance']:.3f}"]
            items.append(it)
        self.gallery.set_items(items, self.state.dataset)

    @Slot(str)
    def _on_similar_failed(self, message: str) -> None:
        self.gallery_note.setText(f"More like this failed: {message}")
