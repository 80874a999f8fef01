"""utils.notebook.run_notebook runs a notebook's code cells as a script, with papermill-style parameters."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT

from utils.errors import UserError
from utils.notebook.run_notebook import parameter, run


def _notebook(path, cells):
    """Write a minimal .ipynb whose code cells are `cells` [(source, tags)], with a markdown cell in between."""
    notebook_cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# title"]}]
    for source, tags in cells:
        notebook_cells.append(
            {
                "cell_type": "code",
                "metadata": {"tags": tags},
                "source": [source],
                "outputs": [],
                "execution_count": None,
            }
        )
    path.write_text(json.dumps({"cells": notebook_cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


@pytest.fixture
def notebook(tmp_path):
    return _notebook(
        tmp_path / "study.ipynb",
        [
            ("from pathlib import Path", []),
            ('EPOCHS = 10  # training epochs\nSIZES = [1, 2]\nOUT = "out.txt"', ["parameters"]),
            ("Path(OUT).write_text(f'{EPOCHS} {sum(SIZES)}')\nEPOCHS * 2", []),
        ],
    )


def test_parameters_override_the_parameters_cell(notebook, tmp_path, capsys):
    out = tmp_path / "result.txt"
    namespace = run(notebook, {"EPOCHS": 3, "OUT": str(out)})
    assert out.read_text() == "3 3"
    assert namespace["SIZES"] == [1, 2]
    assert "6" in capsys.readouterr().out.splitlines()  # the last expression's value, as Jupyter shows it


def test_values_are_python_literals_else_strings():
    assert parameter("25") == 25
    assert parameter("None") is None
    assert parameter("[20, 100, 500]") == [20, 100, 500]
    assert parameter("runs/digits") == "runs/digits"


def test_unknown_parameter_is_refused(notebook):
    with pytest.raises(UserError, match="no parameter EPOCH;"):
        run(notebook, {"EPOCH": 3})


def test_command_line(notebook, tmp_path):
    out = tmp_path / "cli.txt"
    command = [
        sys.executable,
        "-m",
        "utils.notebook.run_notebook",
        str(notebook),
        "-p",
        "SIZES",
        "[5]",
        "-p",
        "OUT",
        str(out),
    ]
    process = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    assert out.read_text() == "10 5"
    assert "[run_notebook] cell 3/3 done" in process.stdout

    missing = subprocess.run(
        [sys.executable, "-m", "utils.notebook.run_notebook", str(tmp_path / "none.ipynb")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: cannot read notebook") and len(missing.stderr.splitlines()) == 1


def test_failing_cell_fails_the_run(tmp_path):
    broken = _notebook(tmp_path / "broken.ipynb", [("raise RuntimeError('cell failed')", [])])
    process = subprocess.run(
        [sys.executable, "-m", "utils.notebook.run_notebook", str(broken)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode != 0
    assert "cell failed" in process.stderr
