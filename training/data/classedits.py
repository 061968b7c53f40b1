"""Classes made, renamed and deleted in the app: part of the label overlay, never the files.

A dataset's own classes (its class folders, a CSV's labels) are its *source* classes. The
user may add classes that have no images yet, rename any class and delete any class; none
of this touches a folder. What the overlay keeps (``LabelOverlay.classes``, schema 2):

- ``added``: classes made in the app, in the order they were made;
- ``renamed``: ``{source class: name shown}`` (a renamed class folder stays as it is on
  disk: the overlay maps its name);
- ``deleted``: source classes the user deleted: their images become unlabelled, unless a
  label fix gives them another class.

The classes of a dataset are its source classes (renamed, deleted ones left out) followed
by the added ones, so adding a class never changes another class's number or key. Label
fixes name classes by their shown name; a rename rewrites them (``LabelOverlay.rename_class``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

MAX_CLASS_NAME = 100


class ClassNameError(ValueError):
    """A class name that cannot be used (empty, too long, taken, or no such class)."""


def check_name(name, taken) -> str:
    """``name`` stripped, or :class:`ClassNameError` saying why it cannot name a class."""
    text = str(name).strip()
    if not text:
        raise ClassNameError("A class needs a name. Received: an empty name")
    if len(text) > MAX_CLASS_NAME or any(ch in text for ch in "\n\r\t/\\\x00"):
        raise ClassNameError(f"A class name is one line of at most {MAX_CLASS_NAME} characters "
                             f"without slashes. Received: {text[:40]!r}")
    if text in taken:
        raise ClassNameError(f"There is a class named {text!r} already.")
    return text


@dataclass
class ClassEdits:
    """The overlay's class changes (see the module docstring)."""

    added: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.added) + len(self.renamed) + len(self.deleted)

    def names(self, source) -> list[str]:
        """The dataset's classes: ``source`` renamed, without the deleted, then the added."""
        out = [self.renamed.get(s, s) for s in source if s not in self.deleted]
        return out + [a for a in self.added if a not in out]

    def source_of(self, name: str, source) -> str | None:
        """The source class shown as ``name`` (None: an added class or no class)."""
        for s in source:
            if s not in self.deleted and self.renamed.get(s, s) == name:
                return s
        return None

    # -- edits (the overlay's add/rename/delete_class call these and fix the labels) ----
    def add(self, name: str, source) -> str:
        name = check_name(name, self.names(source))
        if name in source and name in self.deleted:   # bringing a deleted folder class back
            self.deleted.remove(name)
        else:
            self.added.append(name)
        return name

    def rename(self, old: str, new: str, source) -> str:
        names = self.names(source)
        if old not in names:
            raise ClassNameError(f"No class named {old!r}; the classes are {', '.join(names) or 'none'}")
        new = check_name(new, [n for n in names if n != old])
        src = self.source_of(old, source)
        if src is None:
            self.added[self.added.index(old)] = new
        elif new == src:
            self.renamed.pop(src, None)
        else:
            self.renamed[src] = new
        return new

    def delete(self, name: str, source) -> None:
        names = self.names(source)
        if name not in names:
            raise ClassNameError(f"No class named {name!r}; the classes are {', '.join(names) or 'none'}")
        src = self.source_of(name, source)
        if src is None:
            self.added.remove(name)
        else:
            self.renamed.pop(src, None)
            self.deleted.append(src)

    # -- files ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"added": list(self.added), "renamed": dict(sorted(self.renamed.items())),
                "deleted": sorted(self.deleted)}

    @classmethod
    def from_dict(cls, data, where: str, error=ValueError) -> ClassEdits:
        data = data if data is not None else {}
        added, renamed, deleted = (data.get("added", []), data.get("renamed", {}),
                                   data.get("deleted", [])) if isinstance(data, dict) else (None,) * 3
        if not (isinstance(added, list) and all(isinstance(a, str) for a in added)
                and isinstance(renamed, dict)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in renamed.items())
                and isinstance(deleted, list) and all(isinstance(d, str) for d in deleted)):
            raise error(f"{where}: 'classes' must hold 'added' (names), 'renamed' (name to "
                        "name) and 'deleted' (names).")
        return cls(added=list(dict.fromkeys(added)), renamed=dict(renamed),
                   deleted=list(dict.fromkeys(deleted)))
