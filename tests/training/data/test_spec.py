import json

import pytest

from training.data import DatasetError, DatasetSpec


def test_round_trip_through_json(tmp_path):
    spec = DatasetSpec(path=str(tmp_path), kind="csv", id_column="id", label_column="has_cactus",
                       val_fraction=0.2, test_fraction=0.0, seed=7)
    again = DatasetSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert spec.to_dict()["schema_version"] == 1


def test_pathlike_is_accepted(tmp_path):
    assert DatasetSpec(tmp_path).path == str(tmp_path)
    assert DatasetSpec.coerce(tmp_path).path == str(tmp_path)


@pytest.mark.parametrize("data, words", [
    ({"path": "x", "schema_version": 99}, ["newer", "99"]),
    ({"path": "x", "colour": "red"}, ["Unknown", "colour"]),
    ({"kind": "folders"}, ["no 'path'"]),
    ({"path": "x", "kind": "zip"}, ["kind", "'zip'"]),
    ({"path": "x", "val_fraction": 1.5}, ["val_fraction", "1.5"]),
    ({"path": "x", "val_fraction": 0.6, "test_fraction": 0.5}, ["leave images"]),
    ({"path": "x", "seed": "abc"}, ["seed", "'abc'"]),
    ({"path": "x", "schema_version": "1"}, ["schema_version"]),
    ([1, 2], ["JSON object"]),
])
def test_malformed_dicts_give_clear_errors(data, words):
    with pytest.raises(DatasetError) as info:
        DatasetSpec.from_dict(data)
    for word in words:
        assert word in str(info.value)


def test_dataset_error_is_a_value_error():
    assert issubclass(DatasetError, ValueError)
