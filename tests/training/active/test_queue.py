"""The queue's random checks: the held-back labels are a random sample, not the strategy's
hard picks, so the accuracy estimated on them is unbiased (no TensorFlow: synthetic
probabilities whose top class is right as often as they say)."""
import numpy as np
import pytest

from training.active.heldback import HOLDOUT_SHARE, held_back_mask
from training.active.queue import CHECK_EVERY, build_queue, holdout_candidates
from training.active.strategies import STRATEGIES, rank


def _calibrated_pool(n=6000, classes=4, seed=0):
    """Probabilities, features and truth where the top class is right with its probability:
    the unsure images are the ones the model gets wrong."""
    rng = np.random.default_rng(seed)
    top = rng.uniform(1 / classes + 0.05, 1.0, n)
    pred = rng.integers(0, classes, n)
    probs = np.full((n, classes), 0.0)
    probs[:] = ((1 - top) / (classes - 1))[:, None]
    probs[np.arange(n), pred] = top
    right = rng.uniform(size=n) < top
    truth = np.where(right, pred, (pred + rng.integers(1, classes, n)) % classes)
    feats = rng.normal(size=(n, 8)).astype(np.float32) + probs @ rng.normal(size=(classes, 8))
    return probs, feats, truth, pred


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_one_item_in_seven_is_a_random_check_the_strategy_never_ranks(strategy):
    probs, feats, _, _ = _calibrated_pool(n=700)
    keys = [f"photos/img_{i:04d}.jpg" for i in range(len(probs))]
    candidates = holdout_candidates(keys)
    assert 0.1 < candidates.mean() < 0.2                     # ~ the held-back share
    order, scores, checks = build_queue(strategy, probs, feats, keys, count=70, seed=3, batch=20)
    assert len(order) == 70 and len(set(order.tolist())) == 70 and len(scores) == 70
    assert checks.sum() == 70 // CHECK_EVERY
    assert all(checks[b:b + CHECK_EVERY].sum() == 1 for b in range(0, 70, CHECK_EVERY))
    # Checks are exactly the queue's images that would be held back once labelled.
    assert np.array_equal(candidates[order], checks)
    # Which images are checks does not depend on the model: making the candidates the
    # least sure of all changes the strategy's picks, not the checks.
    unsure = probs.copy()
    unsure[candidates] = 1 / probs.shape[1]
    order2, _, checks2 = build_queue(strategy, unsure, feats, keys, count=70, seed=3, batch=20)
    assert np.array_equal(order2[checks2], order[checks])
    again = build_queue(strategy, probs, feats, keys, count=70, seed=3, batch=20)
    assert all(np.array_equal(a, b) for a, b in zip(again, (order, scores, checks)))


def test_a_small_pool_fills_the_queue_with_every_image():
    probs, feats, _, _ = _calibrated_pool(n=30)
    keys = [f"k{i}" for i in range(30)]
    order, _, checks = build_queue("badge", probs, feats, keys, count=None, seed=0)
    assert sorted(order.tolist()) == list(range(30))
    assert np.array_equal(checks, holdout_candidates(keys)[order])
    with pytest.raises(ValueError, match="key"):
        build_queue("badge", probs, feats, keys[:5], count=5)


def _estimate(build, probs, feats, truth, pred, keys, rounds=8, per_round=140):
    """Label the queue's first ``per_round`` images for ``rounds`` rounds (a fixed model);
    the accuracy of the model on the labels held back then."""
    labelled = np.zeros(len(probs), bool)
    for r in range(rounds):
        pool = np.flatnonzero(~labelled)
        labelled[pool[build(probs[pool], feats[pool], [keys[i] for i in pool], per_round, r)]] = True
    rows = np.flatnonzero(labelled)
    held = held_back_mask([keys[i] for i in rows], truth[rows])
    return float(np.mean(pred[rows[held]] == truth[rows[held]])), int(held.sum())


@pytest.mark.parametrize("strategy", ["badge", "uncertainty"])
def test_the_held_back_estimate_is_unbiased_under_active_picking(strategy):
    probs, feats, truth, pred = _calibrated_pool()
    keys = [f"img_{i}.png" for i in range(len(probs))]
    accuracy = float(np.mean(pred == truth))                 # what the estimate should read

    def with_checks(p, f, k, count, seed):
        return build_queue(strategy, p, f, k, count, seed)[0]

    def strategy_only(p, f, k, count, seed):                  # the rule before the checks
        return rank(strategy, p, f, count, seed)[0]

    estimate, n = _estimate(with_checks, probs, feats, truth, pred, keys)
    biased, _ = _estimate(strategy_only, probs, feats, truth, pred, keys)
    assert n >= 0.8 * HOLDOUT_SHARE * 8 * 140   # about the held-back share of the 1,120 labels
    assert abs(estimate - accuracy) < 0.06, (estimate, accuracy)
    assert biased < accuracy - 0.12, (biased, accuracy)       # what the checks fix


def test_the_estimates_range_holds_the_pool_accuracy_nine_times_in_ten():
    """``estimate_range``: the 90 % range the sampling noise of n held-back labels allows.
    Drawn again and again from a pool whose accuracy is known, the range holds it in about
    90 % of the draws, for few labels as for many; all right on 8 labels is not certainty."""
    from training.active.heldback import estimate_range

    rng = np.random.default_rng(0)
    for n in (8, 30, 100, 300):
        for truth in (0.6, 0.8, 0.95):
            hits = rng.binomial(n, truth, size=3000)
            inside = np.mean([lo <= truth <= hi for lo, hi in (estimate_range(k / n, n) for k in hits)])
            assert 0.85 <= inside <= 0.99, (n, truth, inside)
    lo, hi = estimate_range(1.0, 8)
    assert hi == 1.0 and lo < 0.8
    assert estimate_range(0.5, 0) == (0.0, 1.0)
