"""Every notebook in notebooks/ runs headless in smoke mode and writes what it promises; the session helpers."""

import ast
import json
import os
import shutil
import sys
import time
from pathlib import Path

import keras
import nbformat
import pytest
from conftest import ROOT
from PIL import Image

from utils import notebook
from utils.training.models import ModelConfig, build_discriminator, build_generator
from utils.training.saving import load_model, save_model

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
OUTPUT_DIRS = {"RUN_DIR": "run", "FIGURES_DIR": "figures", "MODELS_DIR": "models"}
PROTECTED = ("figures", "saved_models", "notebooks")  # committed folders a smoke run must not touch
REPOSITORY_PARTS = ("utils", "notebooks", "figures", "saved_models", "dcgan.py", "requirements.txt")
SMOKE_TIMES = {}  # notebook -> seconds, printed at the end of the session


def _tiny_fashion_models(folder):
    """A tiny 28x28x1 generator and discriminator saved as .h5 (what `load_and_look` loads in the test)."""
    config = ModelConfig(image_size=28, channels=1, g_width=8, d_width=8)
    paths = {"GENERATOR": folder / "generator.h5", "DISCRIMINATOR": folder / "discriminator.h5"}
    save_model(build_generator(config), paths["GENERATOR"])
    save_model(build_discriminator(config), paths["DISCRIMINATOR"])
    return {key: str(path) for key, path in paths.items()}


EXTRA_PARAMETERS = {"load_and_look": _tiny_fashion_models}  # notebook stem -> function(tmp folder) -> parameters


def _repository_copy(folder):
    """Copy what the notebooks use of the repository (code, notebooks, committed figures and models) to `folder`.

    The notebooks run in the copy, so a write into its figures/ or saved_models/ is seen, whoever else is
    writing into the real ones at the same time.
    """
    folder.mkdir()
    for part in REPOSITORY_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, folder / part, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        elif source.is_file():
            shutil.copy2(source, folder / part)
    return folder


def _snapshot(root, folders):
    """(path, size, mtime) of every file under `folders` of `root`, to prove a smoke run left them alone."""
    return {
        (str(path.relative_to(root)), path.stat().st_size, path.stat().st_mtime_ns)
        for folder in folders
        for path in (root / folder).rglob("*")
        if path.is_file()
    }


def _check_output(path):
    """Read an output back completely: PNG/GIF frames, JSON, Keras models."""
    assert path.is_file() and path.stat().st_size > 0, f"{path.name} was not written"
    if path.suffix in (".png", ".gif"):
        with Image.open(path) as image:
            for frame in range(getattr(image, "n_frames", 1)):
                image.seek(frame)
                image.load()
            assert min(image.size) > 8, f"{path.name} is only {image.size}"
    elif path.suffix == ".json":
        assert json.loads(path.read_text())
    elif path.suffix in (".h5", ".keras"):
        load_model(path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_is_stored_clean_with_parameters_and_promised_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code), "store notebooks without outputs"
    tagged = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters'"
    assert "SMOKE = False" in tagged[0].source, "the parameters cell must default to SMOKE = False"
    assert "notebook.setup()" in code[0].source, "the first code cell must be the setup cell"
    promised = nb.metadata["dcgan"]["smoke_outputs"]
    assert promised["figures"] or promised["models"], "declare the files a smoke run writes"
    assert any(cell.cell_type == "markdown" for cell in nb.cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_in_smoke_mode(path, tmp_path):
    import papermill

    declared = papermill.inspect_notebook(str(path))
    assert "SMOKE" in declared, f"{path.name} has no SMOKE parameter"
    parameters = {"SMOKE": True}
    for name, folder in OUTPUT_DIRS.items():
        if name in declared:
            parameters[name] = str(tmp_path / folder)
    if path.stem in EXTRA_PARAMETERS:
        (tmp_path / "inputs").mkdir()
        parameters.update(EXTRA_PARAMETERS[path.stem](tmp_path / "inputs"))
    repository = _repository_copy(tmp_path / "repository")
    before = _snapshot(repository, PROTECTED)
    executed = tmp_path / path.name
    started = time.monotonic()
    papermill.execute_notebook(
        str(repository / "notebooks" / path.name),
        str(executed),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(repository / "notebooks"),
        progress_bar=False,
        execution_timeout=600,
    )  # raises PapermillExecutionError, with the failing cell's traceback, when a cell fails
    SMOKE_TIMES[path.stem] = time.monotonic() - started

    result = nbformat.read(executed, as_version=4)
    statuses = [cell.metadata.get("papermill", {}).get("status") for cell in result.cells if cell.cell_type == "code"]
    assert statuses and all(status == "completed" for status in statuses), statuses
    setup_cell = next(cell for cell in result.cells if cell.cell_type == "code")
    setup_output = "".join(output.get("text", "") for output in setup_cell.outputs)
    assert f"python {sys.executable}; repository {repository.resolve()}\n" in setup_output, setup_output
    promised = result.metadata["dcgan"]["smoke_outputs"]
    for name in promised["figures"]:
        _check_output(tmp_path / "figures" / name)
    for name in promised["models"]:
        _check_output(tmp_path / "models" / name)
    assert _snapshot(repository, PROTECTED) == before, "the smoke run changed the repository's committed folders"


@pytest.fixture(scope="module", autouse=True)
def _report_smoke_times():
    yield
    if SMOKE_TIMES:
        lines = [f"  {name}: {seconds:.0f} s" for name, seconds in sorted(SMOKE_TIMES.items())]
        print("\nnotebook smoke runs (kernel start included):\n" + "\n".join(lines))


# --- the session helpers in utils/notebook/__init__.py (the others have their own test files) ---


def test_setup_reports_this_interpreter_and_moves_to_the_repository(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    info = notebook.setup(install=False)
    assert info["python"] == sys.executable
    assert Path.cwd() == ROOT and info["root"] == str(ROOT)
    assert info["backend"] == keras.backend.backend() and info["devices"]


def test_setup_installs_only_what_the_backend_needs(monkeypatch):
    monkeypatch.chdir(ROOT)  # setup() moves there; the fixture moves back
    calls = []
    monkeypatch.setattr(notebook.subprocess, "run", lambda *args, **kwargs: calls.append(args))
    monkeypatch.setattr(notebook, "BACKEND_MODULES", {"jax": ("jax",), "tensorflow": ("no_such_module_here",)})
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    notebook.setup()
    assert not calls, "TensorFlow's packages are not needed under jax"
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    notebook.setup()
    assert len(calls) == 1 and "requirements.txt" in calls[0][0][-1]


def test_show_prints_the_path_without_ipython(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "IPython.display", None)  # import fails, as where IPython is missing
    notebook.show("figures/some.png")
    assert capsys.readouterr().out == "figure: figures/some.png\n"


def test_use_smoke_data_serves_mock_examples_until_stopped():
    from utils.data.load import load_dataset

    try:
        assert notebook.use_smoke_data(True, num_examples=12)
        assert notebook.use_smoke_data(True, num_examples=99)  # already active: unchanged
        assert load_dataset("cifar10", batch_size=4).num_examples == 12
    finally:
        notebook.stop_smoke_data()
    assert not notebook.use_smoke_data(False)


def test_notebook_kernel_is_this_interpreter():
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    interpreter = spec.argv[0]
    # jupyter_client starts a spec whose argv[0] is "python" with the interpreter that runs it (papermill's).
    assert interpreter in ("python", "python3", sys.executable) or os.path.samefile(interpreter, sys.executable)


def test_every_dataset_and_experiment_has_a_notebook():
    names = {path.stem for path in NOTEBOOKS}
    expected = {"mnist", "fashion_mnist", "cifar10", "svhn", "celeba", "lsun_bedroom", "lfw", "folder", "load_and_look"}
    expected |= {
        f"experiment_{name}" for name in ("batchnorm", "training_set_size", "latent_size", "128px", "d_features")
    }
    assert expected <= names


def test_every_helper_a_notebook_calls_is_there():
    """Each `notebook.NAME` and `experiments.NAME` in the notebooks' code exists, without running a notebook."""
    from utils.notebook import experiments

    modules = {"notebook": notebook, "experiments": experiments}
    missing = set()
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            for node in ast.walk(ast.parse(cell.source)):
                named = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                if named and node.value.id in modules and not hasattr(modules[node.value.id], node.attr):
                    missing.add(f"{path.name}: {node.value.id}.{node.attr}")
    assert not missing, sorted(missing)
