"""Issue 5's hostile corpus through the app: open it in the Dataset panel, train one epoch
from the Training panel, evaluate in Results, classify good and bad files in Classify.
Every bad item ends up in the bad-file report exactly once with the core's reason, every
good image is used, and nothing on disk changes."""
import collections
import json
import os

import pytest

from tests.hostile import make_hostile_corpus
from tests.imagegen import snapshot_tree
from tests.workbench.panels import make_window
from tests.workbench.panels import wait_idle as _idle


@pytest.fixture
def window(qtbot):
    w = make_window(qtbot)
    yield w
    w.shutdown()


def _bad_rows(panel):
    model = panel.bad_model
    return [(model.data(model.index(r, 0)), model.data(model.index(r, 1)))
            for r in range(model.rowCount())]


def _check(rows, expected):
    counts = collections.Counter(p for p, _ in rows)
    assert {p: n for p, n in counts.items() if n > 1} == {}, "listed more than once"
    reasons = dict(rows)
    assert set(reasons) == set(expected), sorted(set(reasons) ^ set(expected))
    for path, word in expected.items():
        assert word.lower() in reasons[path].lower(), (path, reasons[path])


def test_hostile_folder_through_every_panel(qtbot, tmp_path, window):
    from training.recipe.config import TrainConfig
    from training.models import template

    corpus = make_hostile_corpus(tmp_path / "hostile", huge=False)
    before = snapshot_tree(corpus["root"])
    state = window.state
    data, train, results, classify = (window.panels[k] for k in ("data", "train", "results",
                                                                 "classify"))
    # Dataset panel: the items indexing finds are listed at once (thumbnails may add more).
    with qtbot.waitSignal(state.datasetChanged, timeout=30_000):
        assert data.open_path(corpus["folder"])
    _idle(qtbot, data)
    listed = dict(_bad_rows(data))
    assert set(corpus["bad_index"]) <= set(listed)
    assert data.bad_badge.text() == f"{len(listed)} bad files"
    assert state.dataset.classes == corpus["classes"]

    # Training panel: one epoch; decoding finds the rest, and the report shows every bad
    # item once, with the core's reason.
    state.set_model_spec(template("mlp", input_size=(16, 16), color_mode="rgb", units=32))
    state.set_train_config(TrainConfig(epochs=1, batch_size=8))
    train.start_training()
    _idle(qtbot, train)
    assert not train.error_label.isVisibleTo(train), train.error_label.text()
    _check(_bad_rows(data), corpus["bad"])
    assert data.bad_badge.text() == f"{len(corpus['bad'])} bad files"
    run_dir = state.run_dir
    with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as f:
        info = json.load(f)
    assert info["status"] == "complete"

    # Results panel: evaluate the run; every good image was used (train + val + test).
    _idle(qtbot, results)
    results.evaluate()
    _idle(qtbot, results)
    ev = results.evaluation
    results.confusion.draw()
    assert ev is not None and results.confusion.texts
    assert info["num_train"] + info["num_val"] + ev["num_samples"] == len(corpus["good"])
    _check([(b["path"], b["reason"]) for b in ev["bad_files"]], corpus["bad"])
    assert f"{len(corpus['bad'])} item(s) of the dataset were skipped" in results.header.text()

    # Classify panel: good files get classes, bad ones are listed with their reason.
    _idle(qtbot, classify)
    assert classify.current_run() == run_dir
    good = corpus["good"][:5]
    bad = dict(corpus["bad_decode"])
    classify.classify(good + list(bad))
    _idle(qtbot, classify)
    assert sorted(r["path"] for r in classify.results) == sorted(good)
    _check([(r["path"], r["error"]) for r in classify.bad], bad)
    shown = [classify.bad_list.item(i).text() for i in range(classify.bad_list.count())]
    assert len(shown) == len(bad)
    for path in bad:
        assert any(os.path.basename(path) in t for t in shown), (path, shown)

    assert snapshot_tree(corpus["root"]) == before
