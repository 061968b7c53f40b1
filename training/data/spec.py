"""``DatasetSpec``: what the user pointed at and how to split it, saved as JSON in runs."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields

from training.safefiles import check_schema

SCHEMA_VERSION = 1
KINDS = ("auto", "folders", "splits", "csv", "idx", "npz")


class DatasetError(ValueError):
    """The path is not a usable dataset (missing, unknown layout, fewer than two classes)."""


@dataclass
class DatasetSpec:
    """Where a dataset lives and how to read and split it.

    Changing a default is a minor change; removing or renaming a field needs a new
    ``schema_version`` (files with a newer version are refused, not guessed at).

    Attributes:
        path: a class folder, a train/validation/test folder, a ``.csv`` file, a folder
            (or file) of IDX files, or a ``.npz`` file.
        kind: ``"auto"`` (detect) or one of ``folders|splits|csv|idx|npz``.
        images_dir: CSV only: folder holding the images (default: a folder named like the
            CSV's stem beside it, e.g. ``train.csv`` -> ``train/``, else the CSV's folder).
        id_column: CSV only: the column with image ids or paths (default: detected).
        label_column: CSV only: the column with labels (default: detected).
        val_fraction: share of each class put in validation where the source has no split.
        test_fraction: share of each class put in test where the source has no split.
        seed: seed of the stratified split.
        schema_version: version of this record's layout.
    """

    path: str
    kind: str = "auto"
    images_dir: str | None = None
    id_column: str | None = None
    label_column: str | None = None
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    seed: int = 42
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if isinstance(self.path, os.PathLike):
            self.path = os.fspath(self.path)
        if isinstance(self.images_dir, os.PathLike):
            self.images_dir = os.fspath(self.images_dir)
        self.validate()

    def validate(self) -> None:
        """Raise :class:`DatasetError` naming the first invalid field and its value."""
        if not isinstance(self.path, str) or not self.path:
            raise DatasetError(f"The dataset path must be a non-empty path. Received: path={self.path!r}")
        if self.kind not in KINDS:
            raise DatasetError(f"The dataset kind must be one of {', '.join(KINDS)}. "
                               f"Received: kind={self.kind!r}")
        for name in ("images_dir", "id_column", "label_column"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise DatasetError(f"The dataset setting {name} must be a string or None. Received: {name}={value!r}")
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise DatasetError(f"The dataset setting {name} must be a number in [0, 1). Received: {name}={value!r}")
        if self.val_fraction + self.test_fraction >= 1:
            raise DatasetError("The validation and test fractions (val_fraction + test_fraction) "
                               "must leave images for training. "
                               f"Received: val_fraction={self.val_fraction}, test_fraction={self.test_fraction}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise DatasetError(f"The split seed must be an integer. Received: seed={self.seed!r}")
        check_schema({"schema_version": self.schema_version}, "dataset spec", SCHEMA_VERSION,
                     error=DatasetError)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, where=None) -> "DatasetSpec":
        """Build a spec from :meth:`to_dict` output, refusing malformed or newer records
        (``where``: the file it came from, named by the message about a newer version).

        Raises:
            DatasetError: not a dict, a newer ``schema_version``, unknown keys, or an
                invalid value (the message names the field and shows the value).
        """
        if not isinstance(data, dict):
            raise DatasetError(f"A dataset spec must be a JSON object. Received: {type(data).__name__}")
        check_schema(data, "dataset spec", SCHEMA_VERSION, where=where, error=DatasetError,
                     required=False)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DatasetError(f"Unknown dataset spec field(s): {', '.join(unknown)}. "
                               f"Known fields: {', '.join(sorted(known))}")
        if "path" not in data:
            raise DatasetError("Dataset spec has no 'path'.")
        return cls(**{**data, "schema_version": SCHEMA_VERSION})

    @classmethod
    def coerce(cls, spec_or_path) -> "DatasetSpec":
        """A spec from a spec, a dict, or a path (str / ``os.PathLike``)."""
        if isinstance(spec_or_path, cls):
            return spec_or_path
        if isinstance(spec_or_path, dict):
            return cls.from_dict(spec_or_path)
        if isinstance(spec_or_path, (str, os.PathLike)):
            return cls(path=os.fspath(spec_or_path))
        raise DatasetError(f"Expected dataset settings or a path. Received: {spec_or_path!r}")
