"""Run a notebook's code cells as a script, where Jupyter is not installed (a GPU machine with only JAX, say).

    python -m utils.notebook.run_notebook notebooks/experiment_batchnorm.ipynb -p EPOCHS 25 -p VARIANTS '["both"]'

Like papermill, `-p NAME VALUE` overrides the cell tagged `parameters` (the value is read as a Python literal,
else kept as a string); unlike it, no kernel runs: the cells run in order in this process, in one namespace,
and the value of a cell's last expression is printed as Jupyter would show it. Figures still go where the
notebook writes them; `utils.notebook.show` prints the path of a picture instead of displaying it.
"""

import argparse
import ast
import json
import sys
import time
from pathlib import Path

from utils.errors import UserError


def parameter(text):
    """A `-p` value: a Python literal ("25", "None", "[20, 100]") when it is one, else the string itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def code_cells(path):
    """The notebook's code cells as (source, tags) pairs, in order."""
    try:
        cells = json.loads(Path(path).read_text())["cells"]
    except (OSError, ValueError, KeyError) as error:
        raise UserError(f"cannot read notebook {path}: {error}") from None
    return [
        ("".join(cell["source"]), cell.get("metadata", {}).get("tags", []))
        for cell in cells
        if cell["cell_type"] == "code"
    ]


def run_cell(source, namespace, name):
    """Execute one cell in `namespace`; print the value of a final expression unless it is None."""
    tree = ast.parse(source, name)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, name, "exec"), namespace)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), name, "eval"), namespace)
        if value is not None:
            print(repr(value))


def run(path, parameters, log=print):
    """Run the code cells of the notebook at `path` with `parameters` overriding its `parameters` cell.

    Args:
        path: the .ipynb file.
        parameters: {NAME: value}; every NAME must be set in the `parameters` cell.
        log: called with one line per cell.

    Returns:
        The namespace the cells ran in.
    """
    cells = code_cells(path)
    tagged = [source for source, tags in cells if "parameters" in tags]
    if parameters and not tagged:
        raise UserError(f"{path} has no cell tagged 'parameters' to override")
    known = {name for source in tagged for name in _assigned(source)}
    unknown = sorted(set(parameters) - known)
    if unknown:
        raise UserError(f"{path} has no parameter {', '.join(unknown)}; it has {', '.join(sorted(known))}")
    namespace = {"__name__": "__main__"}
    for index, (source, tags) in enumerate(cells, 1):
        start = time.perf_counter()
        run_cell(source, namespace, f"{Path(path).name}[{index}]")
        if "parameters" in tags:
            namespace.update(parameters)
        log(f"[run_notebook] cell {index}/{len(cells)} done in {time.perf_counter() - start:.1f} s")
    return namespace


def _assigned(source):
    """Names assigned at the top level of a cell."""
    return {
        target.id
        for statement in ast.parse(source).body
        if isinstance(statement, ast.Assign)
        for target in statement.targets
        if isinstance(target, ast.Name)
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebook", help="the .ipynb file")
    parser.add_argument(
        "-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"), help="override a parameter"
    )
    args = parser.parse_args(argv)
    try:
        run(args.notebook, {name: parameter(value) for name, value in args.p})
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
