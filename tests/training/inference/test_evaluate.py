"""Evaluation metrics against numbers worked out by hand (pure NumPy, no TensorFlow)."""
import math

import numpy as np
import pytest

from training.inference import evaluate as ev
from training.inference.predict import to_probabilities

CLASSES = ["a", "b", "c", "d"]
Y_TRUE = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3]
Y_PRED = [0, 0, 1, 1, 2, 2, 2, 0, 2, 0]
CONF = [0.7, 0.7, 0.7, 0.7, 0.9, 0.7, 0.7, 0.6, 0.7, 0.8]


def probs():
    p = np.zeros((10, 4))
    for i, (pred, conf) in enumerate(zip(Y_PRED, CONF)):
        p[i, :] = (1 - conf) / 3
        p[i, pred] = conf
    return p


def test_confusion_matrix_precision_recall_f1_by_hand():
    m = ev.metrics_from_predictions(Y_TRUE, probs(), CLASSES, paths=[f"img{i}.png" for i in range(10)])
    assert m["confusion_matrix"] == [[2, 1, 0, 0], [0, 1, 1, 0], [1, 0, 3, 0], [1, 0, 0, 0]]
    assert m["accuracy"] == pytest.approx(0.6)
    per = {r["class"]: r for r in m["per_class"]}
    assert [per[c]["precision"] for c in CLASSES] == pytest.approx([0.5, 0.5, 0.75, 0.0])
    assert [per[c]["recall"] for c in CLASSES] == pytest.approx([2 / 3, 0.5, 0.75, 0.0])
    assert [per[c]["f1"] for c in CLASSES] == pytest.approx([4 / 7, 0.5, 0.75, 0.0])
    assert [per[c]["support"] for c in CLASSES] == [3, 2, 4, 1]
    assert m["macro_avg"]["precision"] == pytest.approx(0.4375)
    assert m["weighted_avg"]["precision"] == pytest.approx(0.55)
    assert m["weighted_avg"]["recall"] == pytest.approx(0.6)  # weighted recall == accuracy
    # Loss: -mean(log p[true]); correct rows have p = conf, wrong ones (1 - conf) / 3.
    p_true = [0.7, 0.7, 0.1, 0.7, 0.1 / 3, 0.7, 0.7, 0.4 / 3, 0.7, 0.2 / 3]
    assert m["loss"] == pytest.approx(-sum(math.log(p) for p in p_true) / 10)


def test_predictions_and_most_incorrect_ranking():
    m = ev.metrics_from_predictions(Y_TRUE, probs(), CLASSES, paths=[f"img{i}.png" for i in range(10)],
                                    rows=np.arange(100, 110))
    first = m["predictions"][0]
    assert first["row"] == 100 and first["path"] == "img0.png"
    assert (first["true"], first["pred"], first["true_class"], first["pred_class"]) == (0, 0, "a", "a")
    assert first["probabilities"] == pytest.approx(list(probs()[0]))
    assert isinstance(first["probabilities"], list)
    # Wrong: rows 2 (0.7), 4 (0.9), 7 (0.6), 9 (0.8): ranked by confidence of the wrong class.
    assert [p["path"] for p in m["most_incorrect"]] == ["img4.png", "img9.png", "img2.png", "img7.png"]
    assert m["most_incorrect"][0]["confidence"] == pytest.approx(0.9)


def test_random_sample_is_seeded_and_bounded():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    p = rng.dirichlet(np.ones(3), 60)
    a = ev.metrics_from_predictions(y, p, ["x", "y", "z"], seed=7)
    b = ev.metrics_from_predictions(y, p, ["x", "y", "z"], seed=7)
    c = ev.metrics_from_predictions(y, p, ["x", "y", "z"], seed=8)
    rows = [s["row"] for s in a["random_sample"]]
    assert len(rows) == 25 == len(set(rows))
    assert rows == [s["row"] for s in b["random_sample"]]
    assert rows != [s["row"] for s in c["random_sample"]]
    assert len(a["most_incorrect"]) == min(25, 60 - int(np.trace(np.array(a["confusion_matrix"]))))


def test_binary_head_outputs_become_two_columns():
    out = to_probabilities(np.array([[0.2], [0.9]]))
    assert out == pytest.approx(np.array([[0.8, 0.2], [0.1, 0.9]]))
    m = ev.metrics_from_predictions([0, 1], out, ["neg", "pos"])
    assert m["confusion_matrix"] == [[1, 0], [0, 1]]
    assert m["loss"] == pytest.approx(-(math.log(0.8) + math.log(0.9)) / 2)


def test_shape_and_label_errors_are_clear():
    with pytest.raises(ValueError, match=r"probs.shape=\(2, 3\)"):
        ev.metrics_from_predictions([0, 1], np.ones((2, 3)) / 3, ["a", "b"])
    with pytest.raises(ValueError, match="max=5"):
        ev.metrics_from_predictions([0, 5], np.ones((2, 2)) / 2, ["a", "b"])


def test_large_results_keep_probabilities_in_npz(tmp_path, monkeypatch):
    from training.runs.runfolder import RunFolder

    m = ev.metrics_from_predictions(Y_TRUE, probs(), CLASSES)
    RunFolder(tmp_path).write_evaluation(m, max_json_cells=10)
    assert (tmp_path / "evaluation.npz").is_file()
    raw = (tmp_path / "evaluation.json").read_text()
    assert "probabilities" not in raw.split('"predictions"')[1].split("]")[0]
    back = RunFolder(tmp_path).read_evaluation()
    assert back["confusion_matrix"] == m["confusion_matrix"]
    assert back["predictions"][3]["probabilities"] == pytest.approx(m["predictions"][3]["probabilities"])
    assert back["most_incorrect"][0]["probabilities"] == pytest.approx(m["most_incorrect"][0]["probabilities"])
