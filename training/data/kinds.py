"""The dataset kinds in words, and the "Open…" action of each: one list for the CLI's
``--kind`` (its names are ``training.data.spec.KINDS``), the File menu, the start page and
the Dataset panel's file dialogs."""
from __future__ import annotations

from dataclasses import dataclass

from .csvsource import EXPLICIT_TABLE_EXTS


KIND_LABELS = {"folders": "class folders", "splits": "train/validation/test folders",
               "csv": "CSV + images", "idx": "IDX files", "npz": "NumPy .npz"}


@dataclass(frozen=True)
class OpenAction:
    """How the app asks for one kind of source.

    Attributes:
        key: the action's name (``folder``, ``csv``, ``idx``, ``npz``).
        text: the menu text, with its ``&`` mnemonic (:attr:`label` is without).
        title: the file dialog's title.
        file_filter: the dialog's name filter; None asks for a folder.
        open_parent: the user picks one file, the dataset is its folder (IDX pairs).
        kind: the ``DatasetSpec.kind`` to open the chosen path with.
    """

    key: str
    text: str
    title: str
    file_filter: str | None
    open_parent: bool = False
    kind: str = "auto"

    @property
    def label(self) -> str:
        return self.text.replace("&", "")


OPEN_ACTIONS = (
    OpenAction("folder", "Open &folder…", "Open image folder", None),
    OpenAction("csv", "Open &CSV…", "Open CSV of labels",
               f"CSV files ({' '.join('*' + e for e in EXPLICIT_TABLE_EXTS)});;All files (*)", kind="csv"),
    OpenAction("idx", "Open &IDX files…", "Open IDX files (choose any of them)",
               "IDX files (*-ubyte *-ubyte.gz *.idx*);;All files (*)", open_parent=True),
    OpenAction("npz", "Open NumPy .&npz…", "Open NumPy arrays", "NumPy archives (*.npz)"),
)
OPEN_BY_KEY = {a.key: a for a in OPEN_ACTIONS}
