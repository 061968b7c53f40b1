"""A layering rule import-linter cannot express: ``workbench/`` imports TensorFlow/Keras
only inside functions (the window must appear before TensorFlow loads). The other rules
(``training/`` never imports Qt or the app, the layers, no cycles) are import-linter
contracts in pyproject.toml, checked by ``lint-imports`` in scripts/test.sh."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path, module_level_only: bool):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    nodes = tree.body if module_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def _violations(package: str, forbidden: tuple[str, ...], module_level_only: bool) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in _imports(path, module_level_only):
            if name.split(".")[0] in forbidden:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


def test_workbench_imports_tensorflow_only_inside_functions():
    assert _violations("workbench", ("tensorflow", "keras"), module_level_only=True) == []


def _layers_contract(container: str) -> list[str]:
    import tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for contract in config["tool"]["importlinter"]["contracts"]:
        if contract["type"] == "layers" and contract.get("containers") == [container]:
            return [name.strip() for layer in contract["layers"] for name in layer.replace(":", "|").split("|")]
    raise AssertionError(f"no layers contract for {container}")


def test_every_package_and_module_is_in_a_layers_contract():
    # import-linter treats a module that no layer names as free; naming them all means a new
    # module must be placed in the layering, not slip past it.
    for container in ("training", "workbench"):
        named = set(_layers_contract(container))
        present = {p.stem if p.is_file() else p.name
                   for p in (ROOT / container).iterdir()
                   if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
        assert present - named == set(), f"{container}: not in its layers contract: {sorted(present - named)}"
        assert named - present == set(), f"{container}: layers name missing modules: {sorted(named - present)}"
