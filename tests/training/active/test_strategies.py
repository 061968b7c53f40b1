"""Ranking strategies on synthetic probabilities and features (no TensorFlow)."""
import numpy as np
import pytest

from training.active.heldback import held_back_mask, labels_needed, needed_message
from training.active.strategies import STRATEGIES, k_center_greedy, rank, uncertainty


def _probs(rng, n, c=4, sharp=4.0):
    z = rng.normal(size=(n, c)) * sharp
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("measure", ["margin", "entropy"])
def test_uncertainty_picks_the_least_sure_first(measure):
    probs = np.array([[0.98, 0.01, 0.01], [0.34, 0.33, 0.33], [0.6, 0.3, 0.1], [0.5, 0.49, 0.01]])
    u = uncertainty(probs, measure)
    assert np.argmax(u) in (1, 3) and np.argmin(u) == 0
    order, scores = rank("uncertainty", probs, count=4, measure=measure)
    assert order[-1] == 0 and list(scores) == sorted(scores, reverse=True)
    if measure == "margin":
        assert order[0] == 1 and order[1] == 3   # margins 0.01 and 0.01 < 0.3 < 0.97


def test_margin_and_entropy_disagree_where_they_should():
    # Two classes nearly tied but the rest empty: low margin, low entropy.
    probs = np.array([[0.5, 0.5, 0.0, 0.0], [0.4, 0.2, 0.2, 0.2]])
    assert np.argmax(uncertainty(probs, "margin")) == 0
    assert np.argmax(uncertainty(probs, "entropy")) == 1


def _with_near_duplicates(n=400, d=16):
    """A pool whose first 30 images are near-identical and the hardest of all (uniform
    probabilities)."""
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(n, d)).astype(np.float32)
    probs = _probs(rng, n)
    feats[:30] = rng.normal(size=d) + rng.normal(scale=1e-3, size=(30, d))
    probs[:30] = 0.25
    return probs, feats


def test_diverse_does_not_return_near_duplicates():
    probs, feats = _with_near_duplicates()
    top_u, _ = rank("uncertainty", probs, feats, count=20)
    assert set(top_u.tolist()) <= set(range(30))        # uncertainty alone fills the queue with them
    top_d, scores = rank("diverse", probs, feats, count=20)
    assert len(set(top_d.tolist()) & set(range(30))) == 1   # diverse takes one of them
    assert len(set(top_d.tolist())) == 20
    f = feats[top_d] / np.linalg.norm(feats[top_d], axis=1, keepdims=True)
    dist = np.sqrt(((f[:, None] - f[None]) ** 2).sum(-1)) + np.eye(20) * 9
    assert dist.min() > 0.1
    # ...and still picks uncertain images: every pick is among the most uncertain 8 x 20.
    u = uncertainty(probs)
    assert (u[top_d] >= np.sort(u)[-160]).all() and np.all(scores == u[top_d])


def test_badge_spreads_unsure_picks_and_skips_near_duplicates():
    probs, feats = _with_near_duplicates()
    order, scores = rank("badge", probs, feats, count=20, seed=4)
    assert len(set(order.tolist())) == 20
    assert len(set(order.tolist()) & set(range(30))) == 1   # one of the near-duplicates
    u = uncertainty(probs)
    assert u[order].mean() > np.median(u) + 0.1 and np.all(scores == u[order])
    # A batch of 5 spread by BADGE, the rest of the queue by uncertainty.
    queue, s = rank("badge", probs, feats, count=40, batch=5, seed=4)
    assert np.array_equal(queue[:5], rank("badge", probs, feats, count=5, seed=4)[0])
    assert list(s[5:]) == sorted(s[5:], reverse=True) and len(set(queue.tolist())) == 40


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_rankings_are_deterministic_with_a_seed(strategy):
    rng = np.random.default_rng(3)
    probs, feats = _probs(rng, 300), rng.normal(size=(300, 8))
    a = rank(strategy, probs, feats, count=25, seed=7)[0]
    b = rank(strategy, probs, feats, count=25, seed=7)[0]
    assert np.array_equal(a, b) and len(a) == 25 and len(set(a.tolist())) == 25
    if strategy == "random":
        assert not np.array_equal(a, rank(strategy, probs, feats, count=25, seed=8)[0])


def test_bad_arguments_say_what_was_received():
    with pytest.raises(ValueError, match="Received: 'best'"):
        rank("best", np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match="needs the pool's features"):
        rank("diverse", np.full((3, 2), 0.5), None, count=2)
    assert len(rank("diverse", np.zeros((0, 3)), np.zeros((0, 4)), count=5)[0]) == 0


def test_k_center_greedy_covers_clusters():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(5, 6)) * 10
    feats = np.concatenate([c + rng.normal(scale=0.01, size=(50, 6)) for c in centres])
    picked = k_center_greedy(feats, 5)
    assert sorted(set((picked // 50).tolist())) == [0, 1, 2, 3, 4]


def test_held_back_labels_are_stable_and_leave_every_class_enough():
    keys = [f"/data/img_{i}.png" for i in range(200)]
    y = np.repeat(np.arange(4), 50)
    held = held_back_mask(keys, y, 0.2)
    assert 0.1 < held.mean() < 0.3
    more = held_back_mask(keys + ["/data/new.png"], np.append(y, 0), 0.2)
    assert np.array_equal(more[:200], held)            # adding a label moves no other
    few = held_back_mask(keys[:4], np.zeros(4, int), 0.9)
    assert few.sum() == 1                               # 3 always stay in training
    assert labels_needed({"a": 5, "b": 2, "c": 0}) == {"b": 3, "c": 5}
    assert "8 more images" in needed_message(labels_needed({"a": 5, "b": 2, "c": 0}))


def test_the_curve_is_kept_per_dataset_and_a_bad_file_is_ignored(tmp_path, monkeypatch):
    from training.active.curve import curve_path, load_curve, save_curve

    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "appdata"))
    root = str(tmp_path / "photos")
    assert load_curve(root) == []
    points = [{"labels": 15, "trained_on": 13, "held_back": 2, "accuracy": 0.5},
              {"labels": 35, "trained_on": 30, "held_back": 5, "accuracy": None}]
    save_curve(root, points)
    assert load_curve(root) == points and load_curve(str(tmp_path / "other")) == []
    with open(curve_path(root), "w") as f:
        f.write('{"schema_version": 99, "points": []}')
    assert load_curve(root) == []
    with open(curve_path(root), "w") as f:
        f.write("not json")
    assert load_curve(root) == []


def test_diverse_spreads_the_batch_and_lists_the_rest_by_uncertainty():
    rng = np.random.default_rng(2)
    probs, feats = _probs(rng, 500), rng.normal(size=(500, 8))
    order, scores = rank("diverse", probs, feats, count=50, batch=10)
    assert len(order) == 50 and len(set(order.tolist())) == 50
    assert np.array_equal(order[:10], rank("diverse", probs, feats, count=10)[0])
    assert list(scores[10:]) == sorted(scores[10:], reverse=True)


def test_badge_gives_no_predicted_class_more_than_its_cap():
    """BADGE_CLASS_CAP: at most cap x count / classes picks of one predicted class. A pool
    where half the images are unsure and predicted as class 0 (as a weak early model may
    see it): uncapped, BADGE gave class 0 29 of the 100; capped at 2, at most
    2 x 100 / 10 = 20, and the batch still has 100 distinct images."""
    from training.active import strategies

    assert strategies.BADGE_CLASS_CAP == 2.0   # the shipped cap
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(10) * 0.3, size=3000).astype(np.float32)
    p[:1500, 0] += 2.0
    p /= p.sum(axis=1, keepdims=True)
    f = rng.normal(size=(3000, 16)).astype(np.float32)
    capped = strategies.badge(p, f, 100, np.random.default_rng(1))
    free = strategies.badge(p, f, 100, np.random.default_rng(1), cap=0)
    assert np.bincount(p[free].argmax(axis=1), minlength=10)[0] > 20
    assert np.bincount(p[capped].argmax(axis=1), minlength=10).max() <= 20
    assert len(set(capped.tolist())) == 100


def test_badge_with_the_cap_never_repeats_an_image_when_one_class_is_predicted_everywhere():
    """A small pool where the model predicts one class for every image: the cap (4 of 5
    here) cannot hold, so it yields, and the batch is still 5 distinct images; with all
    images at distance 0 (identical), any image not yet picked."""
    from training.active import strategies

    rng = np.random.default_rng(2)
    p = np.tile(np.array([[0.7, 0.2, 0.1]], np.float32), (12, 1)) + rng.uniform(0, 0.05, (12, 3))
    p /= p.sum(axis=1, keepdims=True)
    f = rng.normal(size=(12, 8)).astype(np.float32)
    picked = strategies.badge(p, f, 5, np.random.default_rng(0))
    assert len(set(picked.tolist())) == 5
    same = strategies.badge(np.tile(p[:1], (6, 1)), np.tile(f[:1], (6, 1)), 6, np.random.default_rng(0))
    assert sorted(same.tolist()) == list(range(6))
