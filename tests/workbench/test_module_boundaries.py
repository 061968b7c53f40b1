"""No module of the app reaches into another module's private names (``x._name`` or
``from m import _name``): what one panel needs from another goes through the app state
(``workbench/appstate/state.py``), its signals, or a public method. ``self``, ``cls``,
``super()`` and names the module defines itself are its own business."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


# Private names of frameworks the app relies on where no public API does the job; each is
# checked to exist by tests/test_private_apis.py, so an upgrade fails loudly there.
FRAMEWORK_PRIVATES = {"_set_device_pixel_ratio"}


def _private(name: str) -> bool:
    return (name.startswith("_") and not (name.startswith("__") and name.endswith("__"))
            and name not in FRAMEWORK_PRIVATES)


def _own_names(tree: ast.AST) -> set[str]:
    """Every name the module defines: functions, classes, assigned names, attributes set
    on ``self``/``cls`` or on a class of its own (``self._x = …``, ``Class._x = …``),
    imported aliases. Setting ``other._x`` does not make ``_x`` the module's own."""
    own: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            own.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            own.add(node.id)
        elif isinstance(node, ast.alias) and node.asname:
            own.add(node.asname)
    classes = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and (
                _is_self(node.value) or (isinstance(node.value, ast.Name) and node.value.id in classes)):
            own.add(node.attr)
    return own


def _is_self(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id in ("self", "cls")) or (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super")


def private_reaches(path: Path) -> list[str]:
    """``"file:line: what"`` for each use of another module's private name in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = _own_names(tree)
    where = path.relative_to(ROOT).as_posix()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and not _is_self(node.value) \
                and node.attr not in own:
            found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom):
            found += [f"{where}:{node.lineno}: from {node.module} import {a.name}"
                      for a in node.names if _private(a.name)]
    return found


# Modules still reaching into another's privates, and why they may for now. An entry
# that no longer reaches anything fails the test too, so the list only shrinks.
PENDING: set[str] = set()


def test_no_module_uses_another_modules_private_names():
    found = [hit for path in sorted((ROOT / "workbench").rglob("*.py")) for hit in private_reaches(path)]
    pending = {hit.split(":", 1)[0] for hit in found} & PENDING
    assert pending == PENDING, f"no longer reaching into privates: {sorted(PENDING - pending)}"
    found = [hit for hit in found if hit.split(":", 1)[0] not in PENDING]
    assert not found, "\n".join(found)


def test_the_check_finds_a_reach_into_another_panel(tmp_path):
    probe = ROOT / "workbench" / "_probe_for_test.py"
    try:
        probe.write_text("from workbench.panels.results_runs import _same\n\n"
                         "def f(self, runs_list):\n"
                         "    runs_list._update_compare()\n"
                         "    runs_list._flag = True\n"
                         "    self._mine = 1\n"
                         "    return self._mine\n", encoding="utf-8")
        assert sorted(hit.split(": ", 1)[1] for hit in private_reaches(probe)) == [
            "from workbench.panels.results_runs import _same", "runs_list._flag",
            "runs_list._update_compare"]
    finally:
        probe.unlink()
