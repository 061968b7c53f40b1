"""The epoch budget: with no --epochs a run's length follows the dataset's size, the
Auto choice carries it (with its reason) and the CLI uses it."""
from training.recipe.auto import DataFacts, choose
from training.cli.main import build_parser
from training.cli.train import train_config
from training.recipe.config import TrainConfig
from training.data import open_dataset
from training.recipe.epoch_budget import (EPOCH_IMAGES, MAX_EPOCHS, MAX_SMALL_EPOCHS, MIN_EPOCHS,
                                          MIN_STEPS, SHORT_RUN_STEPS, default_epochs,
                                          epochs_reason, runs_to_the_end)
from tests.imagegen import make_class_folder


def test_big_sets_get_fewer_epochs_small_sets_keep_the_maximum():
    assert MAX_EPOCHS == TrainConfig().epochs
    assert default_epochs(54_000) == round(EPOCH_IMAGES / 54_000) < MAX_EPOCHS  # Fashion-MNIST
    assert default_epochs(5_000) == MAX_EPOCHS  # 79 steps an epoch: over the step minimum
    assert default_epochs(1_350, min_steps=0) == default_epochs(1, min_steps=0) == MAX_EPOCHS
    assert default_epochs(10_000_000) == MIN_EPOCHS
    counts = [1_000, 20_000, 40_000, 54_000, 100_000, 500_000]
    epochs = [default_epochs(n) for n in counts]
    assert epochs == sorted(epochs, reverse=True) and len(set(epochs)) > 3
    assert "million images" in epochs_reason(54_000)
    assert "Up to 30" in epochs_reason(5_000) and "early stopping" in epochs_reason(5_000)


def test_a_step_minimum_gives_small_sets_more_epochs():
    # On by default (measured, docs/BENCHMARKS.md 8c round 3, with short runs trained to
    # the end): the bundled sample's 1,350 training images get 46 epochs, not 30.
    assert MIN_STEPS == 1_000 and default_epochs(1_350) == -(-1_000 // 22) > MAX_EPOCHS
    # The bundled sample (1,350 images, 22 steps an epoch at batch 64) and the 160 faces
    # (3 steps): 30 epochs would be 660 and 90 steps.
    assert default_epochs(1_350, min_steps=1_000) == -(-1_000 // 22) > MAX_EPOCHS
    assert default_epochs(160, min_steps=1_000) == min(MAX_SMALL_EPOCHS, -(-1_000 // 3))
    assert default_epochs(1, min_steps=1_000) == MAX_SMALL_EPOCHS  # bounded however few
    assert default_epochs(1_350, batch_size=16, min_steps=1_000) == MAX_EPOCHS  # 85 steps/epoch
    small = [default_epochs(n, min_steps=1_000) for n in (100, 500, 1_000, 1_350, 2_000)]
    assert small == sorted(small, reverse=True)


def test_auto_choice_carries_the_epochs_and_says_why():
    c = choose(DataFacts(28, 28, True, 54_000, 10), (28, 28), imagenet_available=False)
    assert c.epochs == default_epochs(54_000) and c.to_dict()["epochs"] == c.epochs
    assert f"{c.epochs} epochs" in c.explanation and "cosine" in c.explanation
    assert choose(DataFacts(8, 8, True, 5_000, 10), (8, 8), False).epochs == MAX_EPOCHS


def test_a_short_run_trains_to_the_end_and_auto_says_so():
    """Issue 21 item 3, round 3: a cosine run of at most SHORT_RUN_STEPS optimizer steps
    (every set the step minimum lengthens, and up to ~4,200 images at 30 epochs) is not
    early-stopped and keeps its last weights; Auto's sentence says so. Longer runs, and
    other schedules, keep early stopping."""
    assert SHORT_RUN_STEPS >= MIN_STEPS
    for n in (100, 500, 1_350, 2_000, 4_000):
        assert runs_to_the_end("cosine", default_epochs(n), -(-n // 64)), n
    assert not runs_to_the_end("cosine", default_epochs(5_000), -(-5_000 // 64))
    assert not runs_to_the_end("cosine", default_epochs(54_000), -(-54_000 // 64))
    assert not runs_to_the_end("plateau", 30, 1) and not runs_to_the_end("none", 30, 1)
    # The threshold counts optimizer steps (epochs x steps an epoch), inclusive.
    assert runs_to_the_end("cosine", SHORT_RUN_STEPS // 20, 20)
    assert not runs_to_the_end("cosine", SHORT_RUN_STEPS // 20 + 1, 20)
    small = choose(DataFacts(28, 28, True, 450, 10), (28, 28), imagenet_available=False)
    assert small.epochs == -(-1_000 // 8) and "trains to the end" in small.explanation
    assert "keeps the last weights" in small.explanation
    assert "early stopping can end" not in small.explanation
    big = choose(DataFacts(28, 28, True, 5_000, 10), (28, 28), imagenet_available=False)
    assert "trains to the end" not in big.explanation and "early stopping" in big.explanation


def test_cli_without_epochs_takes_them_from_the_data(tmp_path, monkeypatch):
    monkeypatch.setattr("training.recipe.epoch_budget.EPOCH_IMAGES", 200)  # tiny set, visible effect
    monkeypatch.setattr("training.recipe.epoch_budget.MIN_STEPS", 0)  # the images budget alone
    data = str(make_class_folder(tmp_path / "data", per_class=10, size=8))
    index = open_dataset(data)
    n = sum(index.counts()["train"].values())
    args = build_parser().parse_args(["train", data])
    config = train_config(args, index)
    assert config.epochs == default_epochs(n) == min(MAX_EPOCHS, max(MIN_EPOCHS, round(200 / n)))
    assert config.lr_schedule == "cosine"
    given = train_config(build_parser().parse_args(["train", data, "--epochs", "3"]), index)
    assert given.epochs == 3
    # The step minimum counts steps at the run's own batch size.
    monkeypatch.setattr("training.recipe.epoch_budget.MIN_STEPS", 100)
    for batch in (4, 8):
        args = build_parser().parse_args(["train", data, "--batch-size", str(batch)])
        assert train_config(args, index).epochs == default_epochs(n, batch) == -(-100 // -(-n // batch)) > 10
    steps = -(-n // 8)
    reason = epochs_reason(n, 8)
    assert f"make only {steps} step{'' if steps == 1 else 's'} an epoch" in reason
    assert f"{default_epochs(n, 8)} epochs" in reason
