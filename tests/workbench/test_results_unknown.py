"""The Results galleries say which images the run would answer "unknown", and why.

A copy of the shared digits run (tests/trustrun.py) is evaluated on a test split that
holds some of its own digits and scikit-image's photos filed under digit classes: the
most-incorrect gallery then has photos (unlike the training data) and digits side by side.
"""
from __future__ import annotations

import shutil

import pytest

from tests.workbench.panels import make_panel, wait_idle
from workbench.appstate.state import AppState


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    from PIL import Image

    from tests.childcall import call_in_child
    from tests.trustrun import digits_run

    run = digits_run()
    root = tmp_path_factory.mktemp("unknown-gallery")
    run_dir = root / "run"
    shutil.copytree(run["run_dir"], run_dir)
    per_class: dict[str, list[str]] = {}
    for path in sorted(run["test_images"]):
        per_class.setdefault(path.replace("\\", "/").split("/")[-2], []).append(path)
    for split in ("train", "test"):
        for label, paths in per_class.items():
            folder = root / "data" / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for i, path in enumerate(paths[:3]):
                shutil.copy(path, folder / f"{i}.png")
    for i, photo in enumerate(run["photos"]):  # filed under a digit: mostly "wrong"
        folder = root / "data" / "test" / str(i % 10)
        folder.mkdir(parents=True, exist_ok=True)
        Image.open(photo).convert("RGB").save(folder / f"photo_{i}.png")
    call_in_child("tests.workbench.tfhelpers:evaluate_run", str(run_dir), str(root / "data"))
    return str(run_dir)


def test_galleries_mark_unknown_images_with_the_reason_and_numbers(qtbot, mixed_run):
    from workbench.panels.results import MOST_INCORRECT, SAMPLE, ResultsPanel
    from workbench.widgets.unknown_badge import UNKNOWN_COLOR

    state = AppState()
    state.run_dir = mixed_run
    panel = make_panel(qtbot, ResultsPanel, state, size=(1100, 700))
    try:
        qtbot.waitUntil(lambda: panel.evaluation is not None, timeout=60_000)
        panel.gallery_choice.setCurrentIndex(MOST_INCORRECT)
        wait_idle(qtbot, panel)
        # Hidden, the panel asks the service nothing for its gallery: the stored reasons
        # show, the check with its numbers waits until the gallery is on screen.
        qtbot.wait(300)
        assert panel.gallery.items and panel.unknown_badges.result is None
        assert not panel.unknown_badges.pending_work() and panel.gallery.decode_waiting()
        assert not panel.map_tab.warmed   # nor imports the map's modules
        panel.show()
        qtbot.waitUntil(lambda: panel.unknown_badges.result is not None, timeout=60_000)
        assert panel.map_tab.warmed
        wait_idle(qtbot, panel)
        records = {r["path"]: r for r in panel.evaluation["most_incorrect"]}
        items = panel.gallery.items
        photos = [i for i in items if "photo_" in i["path"]]
        assert len(photos) >= 5
        checks = panel.unknown_badges.result["items"]
        assert set(checks) == {i["path"] for i in items}
        # The worker's check agrees with the evaluation's rule on every image.
        for item in items:
            assert checks[item["path"]]["unknown"] == bool(records[item["path"]]["unknown_reason"])
            assert item["unknown_reason"] == records[item["path"]]["unknown_reason"]
        unlike = [i for i in photos if i["unknown_reason"] == "unlike the training data"]
        assert len(unlike) >= 0.8 * len(photos)
        row = items.index(unlike[0])
        w = panel.gallery.list.item(row)
        assert "unknown" in w.text() and "unlike the training data" in w.toolTip()
        img = w.icon().pixmap(panel.gallery.thumb_side).toImage()
        corner = [img.pixelColor(x, y) for x in range(img.width() * 2 // 3, img.width())
                  for y in range(img.height() // 3)]
        amber = UNKNOWN_COLOR.rgb()
        assert any(c.rgb() == amber for c in corner)  # the badge's disc
        # The detail view says why, with the numbers against their thresholds.
        panel.gallery.list.setCurrentRow(row)
        qtbot.waitUntil(lambda: "features" in panel.detail.caption.text(), timeout=10_000)
        text = panel.detail.caption.text()
        assert text.count("Would be answered “unknown”: unlike the training data") == 1
        assert ">" in text.split("features")[1] or ">" in text.split("thumbnail")[1]
        # The sample gallery: the run's own digits are answered, and say so.
        panel.gallery_choice.setCurrentIndex(SAMPLE)
        wait_idle(qtbot, panel)
        qtbot.waitUntil(lambda: panel.unknown_badges.result is not None, timeout=60_000)
        digits = [i for i in panel.gallery.items if "photo_" not in i["path"]]
        answered = [i for i in digits if not i["unknown_reason"]]
        assert digits and len(answered) >= 0.8 * len(digits)
        plain = panel.gallery.list.item(panel.gallery.items.index(answered[0]))
        assert "unknown" not in plain.text()
        panel.gallery.list.setCurrentRow(panel.gallery.items.index(answered[0]))
        qtbot.waitUntil(lambda: "not unknown" in panel.detail.caption.text(), timeout=10_000)
    finally:
        wait_idle(qtbot, panel)
        panel.shutdown()


def test_explanations_name_the_failing_check():
    from workbench.panels.results_unknown import explain

    rule = {"confidence_threshold": 0.5, "distance_threshold": 0.8, "appearance_threshold": 10.0}
    low = explain({"unknown": True, "reason": "low confidence", "confidence": 0.31,
                   "distance": 0.5, "appearance": 3.0}, rule)
    assert low.startswith("Would be answered “unknown”: low confidence")
    assert "confidence 31% < 50%" in low and "features 0.500 ≤ 0.800" in low
    ok = explain({"unknown": False, "reason": None, "confidence": 0.9, "distance": None,
                  "appearance": 7.5}, rule)
    assert ok.startswith("Would be answered (not unknown)") and "7.5 ≤ 10.0" in ok
    assert "features" not in ok
    assert explain({"error": "cannot be decoded"}, rule).endswith("cannot be decoded")
    assert explain({"unknown": True, "reason": "low confidence"}, None) == ""


def test_header_says_when_the_temperature_was_kept_at_one():
    from workbench.panels.results_trust import trust_summary_html

    cal = {"ece_before": 0.078, "ece_after": 0.078, "validation": {"accepted": False}}
    assert "7.8% (temperature kept at 1)" in trust_summary_html({"calibration": cal})
    cal = {"ece_before": 0.12, "ece_after": 0.05, "validation": {"accepted": True}}
    assert "12.0% → 5.0%" in trust_summary_html({"calibration": cal})
