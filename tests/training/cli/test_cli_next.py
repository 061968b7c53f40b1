"""``python -m training next DATA --run RUN``: the run ranks the dataset's unlabelled images."""
import numpy as np
import pytest

from tests.imagegen import class_image, make_class_folder, write_image
from tests.training.trainutil import run_cli


@pytest.fixture(scope="module")
def labelled_and_loose(tmp_path_factory):
    """Class folders, a run trained on them, and 12 loose images (the unlabelled pool)."""
    from training.data import DatasetSpec
    from training.fit.train import train
    from training.recipe.config import TrainConfig
    from tests.training.trainutil import tiny_spec

    root = tmp_path_factory.mktemp("next")
    data = make_class_folder(root / "data", per_class=10, size=16)
    run = train(DatasetSpec(str(data)), tiny_spec("cnn"), TrainConfig(epochs=2, batch_size=8), None,
                run_dir=str(root / "run")).run_dir
    rng = np.random.default_rng(5)
    for i in range(12):
        write_image(data / f"loose_{i:02d}.png", class_image(i % 3, 16, rng))
    return data, run


@pytest.mark.parametrize("strategy", ["badge", "diverse", "uncertainty", "random"])
def test_next_ranks_the_unlabelled_images_best_first(capsys, labelled_and_loose, strategy):
    data, run = labelled_and_loose
    code, out, _ = run_cli(capsys, "next", data, "--run", run, "--count", "5", "--strategy", strategy,
                           "--json")
    assert code == 0, out
    items = out["items"]
    assert len(items) == 5 and len({i["path"] for i in items}) == 5
    assert all(i["path"].split("/")[-1].startswith("loose_") for i in items)
    assert all(i["suggested"] in ("cat", "dog", "fox") for i in items)
    scores = [i["score"] for i in items]
    if strategy == "uncertainty":
        assert scores == sorted(scores, reverse=True)
    if strategy != "random":
        assert all(0 <= s <= 1 for s in scores) and max(scores) > 0
    again = run_cli(capsys, "next", data, "--run", run, "--count", "5", "--strategy", strategy, "--json")[1]
    assert again == out   # the same seed gives the same queue


def test_next_says_what_is_wrong(capsys, labelled_and_loose, tmp_path):
    data, run = labelled_and_loose
    code, out, _ = run_cli(capsys, "next", data, "--run", run, "--count", "0", "--json")
    assert code == 2 and "--count" in out["error"]
    code, out, _ = run_cli(capsys, "next", data, "--run", tmp_path / "nope", "--json")
    assert code == 2 and "nope" in out["error"]
    code, out, _ = run_cli(capsys, "next", data, "--run", run, "--strategy", "best", "--json")
    assert code == 2
    only_labelled = make_class_folder(tmp_path / "all", per_class=3, size=16)
    code, out, _ = run_cli(capsys, "next", only_labelled, "--run", run, "--json")
    assert code == 0 and out == {"items": []}


def test_next_mixes_in_the_random_checks_the_app_holds_back(capsys, labelled_and_loose):
    """The CLI builds its queue as the app's rounds do (training.active.queue): one item in 7
    is a random check, exactly the images whose label the app would hold back."""
    from training.active.queue import CHECK_EVERY, holdout_candidates

    data, run = labelled_and_loose
    code, out, _ = run_cli(capsys, "next", data, "--run", run, "--count", "12", "--json")
    assert code == 0, out
    items = out["items"]
    paths = [i["path"] for i in items]
    assert sorted(p.split("/")[-1] for p in paths) == [f"loose_{i:02d}.png" for i in range(12)]
    flags = [i["held_back"] for i in items]
    assert flags == holdout_candidates(paths).tolist()
    # With any candidate in the pool, the one full block of 7 holds exactly one check.
    assert flags[:CHECK_EVERY].count(True) == min(1, sum(flags))
    from training.cli.main import main

    assert main(["next", str(data), "--run", str(run), "--count", "12"]) == 0
    assert capsys.readouterr().out.count("random check") == sum(flags)
