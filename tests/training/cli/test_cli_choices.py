"""The CLI's choices are the core's vocabularies, read from them, not copies: optimizers,
rate schedules, colour modes, templates, dataset kinds and which model of a run."""
import argparse

import pytest

from training.cli.main import MODELS, build_parser
from training.data.decode import COLOR_MODES as DECODE_COLOR_MODES
from training.data.spec import KINDS
from training.models.spec import COLOR_MODES
from training.models.templates import TEMPLATES
from training.recipe.config import LR_SCHEDULES, OPTIMIZERS
from training.runs.runfolder import MODEL_CHOICES


def _choices(command: str, option: str):
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in sub.choices[command]._actions if option in a.option_strings)
    return tuple(action.choices), action.default


@pytest.mark.parametrize("command, option, vocabulary", [
    ("train", "--optimizer", tuple(OPTIMIZERS)),
    ("train", "--lr-schedule", tuple(LR_SCHEDULES)),
    ("train", "--color", COLOR_MODES),
    ("train", "--model", ("auto", *TEMPLATES)),
    ("train", "--kind", KINDS),
    ("evaluate", "--which", MODEL_CHOICES),
    ("predict", "--which", MODEL_CHOICES),
    ("export", "--which", MODEL_CHOICES),
])
def test_cli_choices_are_the_core_vocabularies(command, option, vocabulary):
    assert _choices(command, option)[0] == tuple(vocabulary)


def test_the_schedule_help_describes_every_schedule_and_colour_modes_agree():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in sub.choices["train"]._actions if "--lr-schedule" in a.option_strings)
    assert all(f"{name}" in action.help and what in action.help for name, what in LR_SCHEDULES.items())
    assert tuple(MODELS) == tuple(TEMPLATES)
    # data/ and models/ are sibling layers, so each keeps the list; they must agree.
    assert set(DECODE_COLOR_MODES) == set(COLOR_MODES)
