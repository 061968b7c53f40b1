"""The Model panel: template, layers, input, augmentation, transfer and training settings,
with a live summary computed off the GUI thread.

Widgets edit ``state.model_spec`` and ``state.train_config`` in place. Every edit restarts
a 300 ms debounce; then a :class:`~workbench.compute.requests.SummaryJob` asks the compute service to build the model
with Keras in a worker thread. Results of a superseded build are dropped, and the summary
is only computed while the panel is visible, so a data-only session never imports Keras.
"""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QFileDialog, QMessageBox, QSplitter, QTableWidgetItem, QWidget)

from workbench.panels.input_suggestion import SuggestionPolicy
from workbench.panels.model_assist import ModelAssist, is_auto
from workbench.panels.model_layout import TEMPLATE_CHOICES, setup_ui
from workbench.appstate.settings import Settings
from workbench.widgets.error_details import details_link
from workbench.widgets.fit import proportional_sizes
from workbench.widgets.setting_tips import apply_tips
from workbench.workers.job_runner import JobRunner
from workbench.compute.requests import SummaryJob

DEFAULT_CLASSES = 10
ERROR_BG = QColor(253, 226, 222)


NARROW_WIDTH = 1000     # px of panel width below which the summary goes under the layers


class ModelPanel(QWidget):
    title = "Model"

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.settings = Settings()
        # Keras builds can't be interrupted: a spec change while one runs queues one rerun.
        self._summary_jobs = JobRunner(self)
        self._dirty = True
        self._own_edit = False
        self._debounce = QTimer(self, singleShot=True, interval=300)
        self._debounce.timeout.connect(self._run_summary)
        self.suggestion = SuggestionPolicy()
        self.assist = ModelAssist(self)
        self._build()
        self._ensure_state()
        state.specChanged.connect(self._on_spec_changed)
        state.datasetChanged.connect(self._on_dataset_changed)
        state.configChanged.connect(self._on_config_changed)
        state.settingsSaving.connect(self.save_settings)
        self._load_forms()
        if self.state.dataset is not None:
            self.assist.dataset_changed()   # Auto picks for a dataset opened before this panel
        saved = self.settings.bytes_value("model/splitter")
        self._sized = saved is not None and self.splitter.restoreState(saved)
        self.splitter.splitterMoved.connect(lambda *_: setattr(self, "_sized", True))

    # -- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        summary_box = setup_ui(self)
        self.template_combo.activated.connect(self._template_chosen)
        self.save_button.clicked.connect(self._save_dialog)
        self.load_button.clicked.connect(self._load_dialog)
        for f in (self.input_form, self.aug_form, self.transfer_form, self.layers):
            f.edited.connect(self._spec_edited)
        self.input_form.edited.connect(self.suggestion.user_edited)
        self.input_form.useSuggestion.connect(self._use_suggestion)
        self.training_form.edited.connect(self._config_edited)
        self.transfer_form.edited.connect(self._config_edited)
        # Below NARROW_WIDTH the summary goes under the layer editor (two columns, not
        # three squeezed ones); see _arrange().
        self._summary_box = summary_box
        apply_tips(self)
        self._stacked = QSplitter(Qt.Orientation.Vertical, self)
        self._stacked.hide()
        self._narrow = False

    # -- state ----------------------------------------------------------------------------------
    def _ensure_state(self) -> None:
        from workbench.appstate.settings import ensure_model_state

        ensure_model_state(self.state, self.settings)

    def _load_forms(self) -> None:
        spec, config = self.state.model_spec, self.state.train_config
        key = "auto" if is_auto(spec) else spec.backbone.name if spec.backbone is not None else spec.template
        i = self.template_combo.findData(key)
        self.template_combo.setCurrentIndex(max(i, 0))
        self._describe()
        self.input_form.load(spec, self.state.input_suggestion)
        self.aug_form.load(spec.augmentation)
        self.transfer_form.load(spec, config)
        self.training_form.load(config)
        self.layers.set_layers(spec.layers)
        self.assist.refresh()
        self.schedule_summary()

    def _describe(self) -> None:
        i = max(self.template_combo.currentIndex(), 0)
        self.template_desc.setText(self.assist.description(TEMPLATE_CHOICES[i][2]))

    def _template_chosen(self, _index: int) -> None:
        from training.models import template

        key = self.template_combo.currentData()
        self.assist.clear_notes()
        if key == "auto":
            self.assist.choose_auto(explicit=True)
            return
        self.assist.cancel_auto()
        options = {}
        self.suggestion.template_chosen()
        sugg = self.state.input_suggestion
        if sugg and key in ("mlp", "cnn"):
            options = {"input_size": tuple(sugg[0]), "color_mode": sugg[1]}
        self.state.set_model_spec(template(key, **options))

    @Slot()
    def _on_spec_changed(self) -> None:
        if self._own_edit:
            self.schedule_summary()
            return
        self._load_forms()

    @Slot()
    def _on_config_changed(self) -> None:
        if not self._own_edit and self.state.train_config is not None:
            self.training_form.load(self.state.train_config)
            self.transfer_form.load(self.state.model_spec, self.state.train_config)
        self._describe()   # Auto's text says which number of epochs training will use

    @Slot()
    def _on_dataset_changed(self) -> None:
        spec, sugg = self.state.model_spec, self.state.input_suggestion
        if self.assist.dataset_changed():
            return
        if self.suggestion.should_apply(self.state.dataset, spec, sugg):
            self._use_suggestion()
        else:
            self.input_form.load(spec, sugg)
            self.schedule_summary()

    @Slot()
    def _use_suggestion(self) -> None:
        spec, sugg = self.state.model_spec, self.state.input_suggestion
        if spec is None or not sugg:
            return
        spec.input_size = tuple(int(v) for v in sugg[0])
        spec.color_mode = sugg[1]
        self.suggestion.applied()
        self.state.set_model_spec(spec)   # reloads the forms

    def _spec_edited(self) -> None:
        if self.assist.spec_edited():   # e.g. freeze unticked for random weights
            self.transfer_form.load(self.state.model_spec, self.state.train_config)
        self._emit_own_edit(self.state.specChanged)
        self.transfer_form.update_weights_status()

    def _config_edited(self) -> None:
        if self.assist.spec_edited():
            self.transfer_form.load(self.state.model_spec, self.state.train_config)
        self._emit_own_edit(self.state.configChanged)

    def _emit_own_edit(self, signal) -> None:
        """Emit ``signal`` flagged as this panel's own edit (its handlers then keep the forms)."""
        self._own_edit = True
        try:
            signal.emit()
        finally:
            self._own_edit = False

    # -- summary ----------------------------------------------------------------------------------
    def schedule_summary(self) -> None:
        """Rebuild the model summary soon (debounced; now stale), e.g. when weights arrive."""
        self._dirty = True
        self._summary_jobs.cancel()   # its summary is of the old spec: drop it
        self.status.setText("<span style='color:#666'>Updating…</span>")
        if self.isVisible():
            self._debounce.start()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        narrow = self.width() < NARROW_WIDTH
        if narrow != self._narrow:
            self._arrange(narrow)
        # A state saved in the other arrangement can collapse a column to 0: size again.
        if (not self._sized or 0 in self.splitter.sizes()) and self.splitter.width() > 0:
            sp = self.splitter
            minimums = [sp.widget(i).minimumSizeHint().width() for i in range(sp.count())]
            minimums[0] = max(minimums[0], sp.widget(0).minimumWidth())
            weights = [4, 5] if self._narrow else [3, 3, 4]
            sp.setSizes(proportional_sizes(sp.width(), weights, minimums))

    def _arrange(self, narrow: bool) -> None:
        """Three columns (forms | layers | summary), or two with the summary under the
        layer editor when the panel is narrow."""
        self._narrow = narrow
        self._sized = False   # the column sizes are the new arrangement's
        if narrow:
            self._stacked.addWidget(self.layers)
            self._stacked.addWidget(self._summary_box)
            self._stacked.setSizes([300, 300])
            self.splitter.addWidget(self._stacked)
            self._stacked.show()
        else:
            self.splitter.insertWidget(1, self.layers)
            self.splitter.insertWidget(2, self._summary_box)
            self._stacked.setParent(self)
            self._stacked.hide()
        # Reparenting hides a widget: show both wherever they now are.
        self.layers.show()
        self._summary_box.show()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty and not self._debounce.isActive():
            self._debounce.start()
        self.assist.shown()

    @Slot()
    def _run_summary(self) -> None:
        self._dirty = False
        self._summary_jobs.queue(self._summary_worker, finished=self._show_summary,
                                 failed=self._on_failed)

    def _summary_worker(self) -> SummaryJob:
        # Made when the job starts (maybe after a running one ended): the spec of then.
        n = len(self.state.dataset.classes) if self.state.dataset is not None else DEFAULT_CLASSES
        return SummaryJob(self.state.model_spec.to_dict(), n)

    def _on_failed(self, message: str) -> None:
        self._show_summary({"rows": [], "total": None, "trainable": None, "errors": {-1: message}})
        self.status.setText(self.status.text() + details_link())   # a failed job: its traceback

    def _show_summary(self, result: dict) -> None:
        rows, errors = result["rows"], result["errors"]
        if result.get("backbone_layers"):
            self.transfer_form.set_layer_count(result["backbone_layers"])
        self.summary.setRowCount(len(rows))
        for r, row in enumerate(rows):
            shape = row.get("output_shape")
            cells = [row.get("name", ""), row.get("type", ""),
                     str(tuple(shape)) if isinstance(shape, (list, tuple)) else str(shape or ""),
                     f"{int(row['params']):,}" if row.get("params") is not None else ""]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(str(text))
                if c == 0:
                    item.setToolTip(f"{text}: {row.get('type', '')}")
                if c == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if row.get("error"):
                    item.setBackground(QBrush(ERROR_BG))
                    item.setToolTip(str(row["error"]))
                self.summary.setItem(r, c, item)
        self.layers.set_errors({i: m for i, m in errors.items() if i >= 0})
        if result.get("total") is not None and not errors:
            total, trainable = result["total"], result["trainable"]
            self.totals.setText(f"<b>Total params: {total:,}</b><br>Trainable: {trainable:,} · "
                                f"Non-trainable: {total - trainable:,}")
        else:
            self.totals.setText("")
        n = len(self.state.dataset.classes) if self.state.dataset is not None else None
        if errors:
            text = "<br>".join(_esc(m) for _i, m in sorted(errors.items()))
            self.status.setText(f"<span style='color:#a61b0f'><b>This model can't be built.</b>"
                                f"<br>{text}</span>")
        elif n is None:
            self.status.setText(f"<span style='color:#2e7d32'>OK</span> · <span style='color:#666'>"
                                f"head sized for {DEFAULT_CLASSES} classes until a dataset "
                                "is open</span>" + self.assist.status_suffix())
        else:
            self.status.setText(f"<span style='color:#2e7d32'>OK</span> · head for {n} classes"
                                + self.assist.status_suffix())

    # -- save / load --------------------------------------------------------------------------------
    def save_spec(self, path: str) -> None:
        self.state.model_spec.save(path)
        self.settings.set_last_folder("spec", path)

    def load_spec(self, path: str) -> str | None:
        """Load a spec JSON; returns an error message instead of raising."""
        from training.models import ModelSpec

        try:
            spec = ModelSpec.load(path)
        except Exception as exc:  # noqa: BLE001 - any bad file becomes a message
            return f"Could not load {path}: {exc}"
        self.settings.set_last_folder("spec", path)
        self.state.set_model_spec(spec)
        return None

    def _save_dialog(self) -> None:
        start = os.path.join(self.settings.last_folder("spec"), f"{self.state.model_spec.name}.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save model spec", start, "JSON (*.json)")
        if path:
            try:
                self.save_spec(path)
            except Exception as exc:  # noqa: BLE001
                QMessageBox.warning(self, "Save spec", f"Could not save {path}: {exc}")

    def _load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load model spec",
                                              self.settings.last_folder("spec"), "JSON (*.json)")
        if path:
            error = self.load_spec(path)
            if error:
                QMessageBox.warning(self, "Load spec", error)

    # -- panel protocol ----------------------------------------------------------------------------
    def pending_work(self) -> bool:
        return (self._summary_jobs.busy() or self._debounce.isActive()
                or (self._dirty and self.isVisible()) or self.assist.pending_work())

    def save_settings(self) -> None:
        if not self._narrow:   # the three-column sizes; the narrow layout is sized anew
            self.settings.set_value("model/splitter", self.splitter.saveState())
        if self.state.model_spec is not None:
            self.settings.set_last_spec(self.state.model_spec.to_dict())

    def shutdown(self) -> None:
        self._debounce.stop()
        self.assist.shutdown()
        self.save_settings()
        self._summary_jobs.shutdown(30000)


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
