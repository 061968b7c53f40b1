"""The app's label fixes (``workbench.actions.fixes``) go through the core's ``set_fixes``:
after relabels, exclusions, restores, undo and redo, the in-memory dataset's record says what
reopening it would apply (``applied_relabels`` and ``applied_exclusions``), which is what a
run trained on it writes to dataset.json."""
from __future__ import annotations

from tests.imagegen import make_class_folder


def _applied(overlay: dict) -> tuple[int, int, int, int]:
    return (overlay["relabelled"], overlay["excluded"], overlay["applied_relabels"],
            overlay["applied_exclusions"])


def test_gui_fixes_record_applied_relabels_and_exclusions_as_reopening_would(qtbot, tmp_path):
    from training.data import DatasetSpec, open_dataset
    from tests.workbench.panels import labels_saved, load_overlay
    from workbench.actions.fixes import fixes_for
    from workbench.appstate.state import AppState

    root = make_class_folder(tmp_path / "data", classes=("a", "b"), per_class=4, size=8)
    raw = open_dataset(str(root), overlay=False)
    earlier = raw.paths[5]            # excluded in an earlier session
    overlay = load_overlay(raw.root)
    overlay.exclude(earlier)
    overlay.save()

    state = AppState()
    spec = DatasetSpec(str(root))
    index = open_dataset(spec)
    state.set_dataset(spec, index)
    fixes = fixes_for(state)
    first, second = index.paths[0], index.paths[1]

    def reopened():
        labels_saved()   # the app writes the file off its GUI thread
        return _applied(open_dataset(spec).overlay)

    assert _applied(index.overlay) == (0, 1, 0, 1) == reopened()
    fixes.relabel([first], "b")
    fixes.exclude([second])
    assert index.labels[0] == index.classes.index("b")
    assert _applied(index.overlay) == (1, 2, 1, 2) == reopened()
    assert fixes.needs_reopen
    fixes.restore([earlier])
    assert _applied(index.overlay) == (1, 1, 1, 1) == reopened()
    fixes.undo()
    fixes.undo()
    assert _applied(index.overlay) == (1, 1, 1, 1) == reopened()
    fixes.undo()
    assert index.labels[0] == index.classes.index("a")
    assert _applied(index.overlay) == (0, 1, 0, 1) == reopened()
    fixes.redo()
    assert _applied(index.overlay) == (1, 1, 1, 1) == reopened()
    state.deleteLater()
