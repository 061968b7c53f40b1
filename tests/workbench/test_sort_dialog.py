"""Classify → "Sort into folders…" through the real compute service: the counts first,
then copy (or move, when chosen), the result, Undo sort; and a sort the app did not
finish (its process was killed) is offered for undo when the dialog opens again."""
import os

import pytest

from tests.training.sorting.sortutil import make_photos, tree
from tests.workbench.panels import make_panel, wait_idle
from tests.workbench.tiny_run import tiny_run
from workbench.panels.classify import ClassifyPanel


@pytest.fixture
def panel(qtbot):
    p = make_panel(qtbot, ClassifyPanel, size=(1100, 700), run_dir=tiny_run()["run_dir"])
    yield p
    p.shutdown()


def _idle(qtbot, dialog, timeout=120_000):
    qtbot.waitUntil(lambda: not dialog.busy() and not dialog._jobs.busy(), timeout=timeout)


def _shot(dialog, name):
    """WORKBENCH_SORT_SCREENSHOTS=DIR saves the dialog as it is (to look at it)."""
    folder = os.environ.get("WORKBENCH_SORT_SCREENSHOTS")
    if folder:
        dialog.grab().save(os.path.join(folder, f"{name}.png"))


def test_count_then_copy_then_undo(qtbot, panel, tmp_path):
    wait_idle(qtbot, panel)
    src = make_photos(tmp_path / "photos")
    before = tree(src)
    dest = tmp_path / "sorted"
    dialog = panel.open_sort(str(src), str(dest))
    qtbot.waitUntil(dialog.isVisible)
    _idle(qtbot, dialog)
    assert dialog.empty.isVisible() and not dialog.sort_button.isEnabled()
    _shot(dialog, "sort-empty")
    dialog.count_button.click()
    assert dialog.busy() and dialog.progress.isVisible()
    _idle(qtbot, dialog)
    assert dialog.plan is not None, dialog.status.text()
    counts = {dialog.table.item(r, 0).text(): int(dialog.table.item(r, 1).text())
              for r in range(dialog.table.rowCount())}
    assert set(counts) == {"cat", "dog", "fox", "unknown"} and sum(counts.values()) == 13
    assert dialog.bad_list.count() == 1 and "broken.jpg" in dialog.bad_list.item(0).text()
    assert dialog.copy_radio.isChecked() and dialog.sort_button.text() == "Copy 13 photos"
    assert not dest.exists()   # counting changes nothing
    _shot(dialog, "sort-counted")
    dialog.sort_button.click()
    _idle(qtbot, dialog)
    assert dialog.status.text().startswith("Copied 13 photos into"), dialog.status.text()
    assert len(tree(dest)) == 13 and tree(src) == before
    assert dialog.undo_button.isEnabled()
    _shot(dialog, "sort-result")
    dialog.undo_button.click()
    _idle(qtbot, dialog)
    assert "Undone: deleted 13 photos" in dialog.status.text()
    assert not dest.exists() and tree(src) == before
    assert not dialog.undo_button.isEnabled()


def test_move_only_when_chosen_and_undo_puts_back(qtbot, panel, tmp_path):
    wait_idle(qtbot, panel)
    src = make_photos(tmp_path / "photos", per_class=2)
    before = tree(src)
    dest = tmp_path / "sorted"
    dialog = panel.open_sort(str(src), str(dest))
    _idle(qtbot, dialog)
    dialog.count()
    _idle(qtbot, dialog)
    dialog.move_radio.setChecked(True)
    assert dialog.sort_button.text() == "Move 7 photos"
    dialog.sort_button.click()
    _idle(qtbot, dialog)
    assert dialog.status.text().startswith("Moved 7 photos"), dialog.status.text()
    assert sorted(tree(src)) == ["broken.jpg", "notes.txt"]
    dialog.undo()
    _idle(qtbot, dialog)
    assert tree(src) == before and not dest.exists()


def test_a_sort_that_did_not_finish_is_offered_for_undo(qtbot, panel, tmp_path):
    """The journal of a sort whose process died (here: stopped after its first photo, with
    up to 16 more in flight) is found when the dialog opens, and Undo sort restores the
    destination."""
    from training.events import StopFlagEvents
    from training.sorting import SortPlan, apply_sort
    from training.events import Stopped

    wait_idle(qtbot, panel)
    src = make_photos(tmp_path / "photos", per_class=8)
    dest = tmp_path / "sorted"
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs if f.endswith(".png"))
    plan = SortPlan(str(src), str(dest), "", ["cat", "dog", "fox", "unknown"],
                    [(f, "cat") for f in files])

    class StopAfter3(StopFlagEvents):
        def on_progress(self, done, total, what):
            if done == 1:
                self.stop()

    with pytest.raises(Stopped):
        apply_sort(plan, events=StopAfter3())
    made = len(tree(dest))
    assert 0 < made < len(files) == 25
    dialog = panel.open_sort()
    _idle(qtbot, dialog)
    assert "did not finish" in dialog.status.text() and dialog.undo_button.isEnabled()
    dialog.undo_button.click()
    _idle(qtbot, dialog)
    assert f"Undone: deleted {made} photos" in dialog.status.text()
    assert not dest.exists()


def test_a_full_disk_stops_with_a_clear_message_and_undo_is_offered(qtbot, panel, tmp_path):
    """The destination is a real 16 KiB tmpfs (root only): the sort stops, the dialog says
    the destination is full, and Undo sort removes what was copied."""
    from tests.training.sorting.sortutil import mount, umount

    wait_idle(qtbot, panel)
    src = make_photos(tmp_path / "photos")
    dest = tmp_path / "small"
    mount(["-t", "tmpfs", "-o", "size=16k", "tmpfs"], dest)
    try:
        dialog = panel.open_sort(str(src), str(dest))
        _idle(qtbot, dialog)
        dialog.count()
        _idle(qtbot, dialog)
        dialog.sort()
        _idle(qtbot, dialog)
        text = dialog.status.text()
        assert f"{dest} is full" in text and "were copied before it filled" in text, text
        assert dialog.undo_button.isEnabled() and 0 < len(tree(dest)) < 13
        dialog.undo()
        _idle(qtbot, dialog)
        assert "Undone: deleted" in dialog.status.text() and os.listdir(dest) == []
    finally:
        umount(dest)
