"""docs/ARCHITECTURE.md states the dataclasses' defaults and the optimizer names: they are
read from the doc and compared with the code, so the two cannot drift apart again (the doc
said epochs 10, batch 32, patience 3 while TrainConfig had 30, 64, 5)."""
import ast
import dataclasses
import re
from pathlib import Path

import pytest

from training.data.spec import DatasetSpec
from training.recipe.config import LR_SCHEDULES, OPTIMIZERS, TrainConfig

DOC = (Path(__file__).resolve().parents[1] / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")


def _bullet(name: str) -> str:
    """The text of the doc's bullet that starts with ``- `name` ``, up to the next bullet."""
    match = re.search(rf"^- `{name}` .*?(?=^- |^#|\Z)", DOC, re.S | re.M)
    assert match, f"docs/ARCHITECTURE.md has no bullet for {name}"
    return " ".join(match.group(0).split())


def _stated_defaults(text: str) -> dict:
    """``{field: value}`` for every ``field=value`` the text states (inside backticks)."""
    found = {}
    for code in re.findall(r"`([^`]*)`", text):
        for name, value in re.findall(r"(\w+)=([^,]+?)(?=,\s*\w+=|$)", code.strip()):
            found[name] = ast.literal_eval(value.strip())
    return found


@pytest.mark.parametrize("cls", [TrainConfig, DatasetSpec], ids=lambda c: c.__name__)
def test_architecture_doc_states_every_default_as_the_dataclass_has_it(cls):
    stated = _stated_defaults(_bullet(cls.__name__))
    defaults = {f.name: f.default for f in dataclasses.fields(cls)
                if f.default is not dataclasses.MISSING and f.name != "schema_version"}
    assert stated == defaults


def test_architecture_doc_names_the_optimizers_and_schedules_of_the_vocabulary():
    text = _bullet("TrainConfig")
    assert f"`{'|'.join(OPTIMIZERS)}`" in text
    assert f"`{'|'.join(LR_SCHEDULES)}`" in text
