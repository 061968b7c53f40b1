"""One vocabulary of optimizers (``training.recipe.config.OPTIMIZERS``): the config's
validation, the CLI's ``--optimizer`` choices and the session's factory all follow it, so
adding an optimizer there is the whole change."""
import pytest

from training.recipe.config import OPTIMIZERS, Optimizer, TrainConfig
from training.recipe.guardrails import LR_HIGH


@pytest.fixture
def with_adamw(monkeypatch):
    monkeypatch.setitem(OPTIMIZERS, "adamw", Optimizer("AdamW", "decays the weights too"))


def test_a_new_optimizer_in_the_vocabulary_reaches_config_cli_and_factory(with_adamw):
    from training.cli.main import build_parser
    from training.fit.session import make_optimizer

    assert TrainConfig(optimizer="AdamW").optimizer == "adamw"
    args = build_parser().parse_args(["train", "data", "--optimizer", "adamw"])
    assert args.optimizer == "adamw"
    assert type(make_optimizer("adamw", 0.01)).__name__ == "AdamW"


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_builds_and_has_a_divergence_guard(name):
    from training.fit.session import make_optimizer

    opt = make_optimizer(name, 0.01)
    assert type(opt).__name__ == OPTIMIZERS[name].keras_class
    assert float(opt.learning_rate) == pytest.approx(0.01)
    assert name in LR_HIGH


def test_cli_defaults_are_the_configs():
    from training.cli.main import build_parser

    args = build_parser().parse_args(["train", "data"])
    defaults = TrainConfig()
    assert (args.optimizer, args.lr, args.batch_size, args.patience, args.fine_tune_epochs,
            args.fine_tune_lr) == (defaults.optimizer, defaults.learning_rate, defaults.batch_size,
                                   defaults.patience, defaults.fine_tune_epochs, defaults.fine_tune_lr)
