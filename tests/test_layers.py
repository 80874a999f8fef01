"""The packages of `utils` import downward only: helpers < data < training < analysis < cli, notebook."""

import ast
from pathlib import Path

import pytest

UTILS = Path(__file__).resolve().parents[1] / "utils"
HELPERS = ("errors", "files", "images", "plots")
RANKS = {"helpers": 0, "data": 1, "training": 2, "analysis": 3, "cli": 4, "notebook": 4}


def layer(module):
    """The layer of a dotted module name under `utils` ("utils.training.train" -> "training")."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in HELPERS:
        return "helpers"
    return parts[1]


def imported_modules(path):
    """Every `utils...` module that the file at `path` imports (at any depth of the file)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name == "utils" or name.startswith("utils.")}


def own_module(path):
    parts = path.relative_to(UTILS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def violations(module, imports):
    """The `imports` of `module` that reach up (or sideways between cli and notebook)."""
    own = layer(module)
    bad = []
    for name in sorted(imports):
        target = layer(name)
        if target not in RANKS:  # a helper imported as `from utils import errors`
            continue
        if RANKS[target] > RANKS[own] or (target != own and RANKS[target] == RANKS[own] == 4):
            bad.append(name)
    return bad


@pytest.mark.parametrize("path", sorted(UTILS.rglob("*.py")), ids=lambda path: str(path.relative_to(UTILS)))
def test_imports_point_down(path):
    module = own_module(path)
    assert violations(module, imported_modules(path)) == [], f"{module} ({layer(module)}) imports from a higher layer"


def test_an_upward_or_sideways_import_is_caught(tmp_path):
    source = tmp_path / "load.py"
    source.write_text("def f():\n    from utils.training.train import train\n")
    assert violations("utils.data.load", imported_modules(source)) == [
        "utils.training.train",
        "utils.training.train.train",
    ]
    assert violations("utils.cli.fid", {"utils.notebook.publish"}) == ["utils.notebook.publish"]
    assert violations("utils.errors", {"utils.data.registry"}) == ["utils.data.registry"]
    assert violations("utils.cli.fid", {"utils.analysis.fid", "utils.errors", "utils.cli.flags"}) == []
