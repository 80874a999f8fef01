"""Every notebook in notebooks/ runs headless in smoke mode and writes what it promises; the notebook helpers."""

import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest
from conftest import ROOT
from PIL import Image

from utils import notebook
from utils.config import model_config
from utils.models import ModelConfig, build_discriminator, build_generator, trainable_params
from utils.saving import load_model, save_model

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


# --- the helpers in utils/notebook.py ---


def test_setup_reports_this_interpreter_and_moves_to_the_repository(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    info = notebook.setup(install=False)
    assert info["python"] == sys.executable
    assert Path.cwd() == ROOT and info["root"] == str(ROOT)
    assert info["backend"] == keras.backend.backend() and info["devices"]


def test_command_line_turns_keywords_into_flags():
    argv = notebook.command_line("arithmetic", "x", generator=Path("g.h5"), a_class=9, expect_class=None, quiet=True)
    assert argv == ["arithmetic", "x", "--generator", "g.h5", "--a-class", "9", "--quiet"]
    assert notebook.command_line("sample", verbose=False, n=0) == ["sample", "--n", "0"]


def test_run_command_returns_the_json_line(capsys):
    result = notebook.run_command("summary", image_size=28, channels=1, g_width=8, d_width=8)
    config = model_config("paper", image_size=28, channels=1, g_width=8, d_width=8)
    assert result == {
        "generator": trainable_params(build_generator(config)),
        "discriminator": trainable_params(build_discriminator(config)),
    }
    assert '"generator"' in capsys.readouterr().out  # the output is shown as well as captured


def test_run_command_raises_with_the_error_line(tmp_path):
    with pytest.raises(RuntimeError, match=r"exit code 2: error: .*does not exist"):
        notebook.run_command("sample", generator=tmp_path / "missing.h5", out=tmp_path / "x.png")


def test_training_config_is_what_train_takes_and_smoke_shrinks_it():
    config = notebook.training_config("fashion_mnist", 25, 128, 28, seed=0)
    assert config["data"] == {
        "name": "fashion_mnist",
        "data_dir": None,
        "subset": None,
        "image_size": 28,
        "channels": 1,
    }
    assert config["model"] == {**model_config("paper", image_size=28, channels=1).__dict__}
    assert config["training"]["epochs"] == 25 and config["training"]["batch_size"] == 128

    smoke = notebook.training_config("lsun_bedroom", 15, 128, subset=100_000, smoke=True, latent_dim=20)
    assert smoke["data"]["name"] == "lsun/bedroom" and smoke["data"]["image_size"] == 64
    assert smoke["data"]["subset"] == notebook.SMOKE_TRAINING["subset"]
    assert smoke["training"]["epochs"] == 2 and smoke["training"]["batch_size"] == notebook.SMOKE_TRAINING["batch_size"]
    assert (smoke["model"]["g_width"], smoke["model"]["d_width"], smoke["model"]["latent_dim"]) == (8, 8, 20)

    wide = notebook.training_config("fashion_mnist", 1, 16, architecture="seed002-extra-layer", smoke=True, g_width=4)
    assert wide["model"]["image_size"] == 128 and wide["model"]["g_width"] == 4 and wide["model"]["d_width"] == 8
    assert notebook.training_config("fashion_mnist", 5, 8, subset=10, smoke=True)["data"]["subset"] == 10


@pytest.mark.parametrize(
    ("available", "shown", "expected"),
    [
        (range(1, 4), 6, [1, 2, 3]),
        (range(1, 26), 6, [1, 6, 11, 15, 20, 25]),
        (range(1, 11), 2, [1, 10]),
        (range(1, 11), 1, [10]),
    ],
)
def test_pick_epochs_spreads_evenly_and_keeps_first_and_last(available, shown, expected):
    assert notebook.pick_epochs(list(available), shown) == expected


def _fake_run(folder, epochs=3, config=None):
    """A run folder as `utils.train.train` leaves it: grids, GIF, loss.png and tiny models."""
    from utils.images import save_gif, save_grid

    config = config or ModelConfig(image_size=28, channels=1, g_width=8, d_width=8, latent_dim=8)
    rng = np.random.default_rng(0)
    for epoch in range(1, epochs + 1):
        save_grid(rng.uniform(-1, 1, (4, 28, 28, 1)), folder / "samples" / f"epoch_{epoch:04d}.png")
    save_gif(sorted((folder / "samples").glob("*.png")), folder / "progress.gif")
    save_grid(rng.uniform(-1, 1, (1, 40, 60, 3)), folder / "loss.png")
    for name, build in (("generator", build_generator), ("discriminator", build_discriminator)):
        for suffix in (".h5", ".keras"):
            save_model(build(config), folder / f"{name}{suffix}")
    return folder


def test_publish_run_copies_figures_and_models_under_the_dataset_name(tmp_path):
    run = _fake_run(tmp_path / "run", epochs=3)
    paths = notebook.publish_run(run, "lsun/bedroom", tmp_path / "figures", tmp_path / "models")
    assert sorted(path.name for path in (tmp_path / "figures").iterdir()) == [
        "lsun_bedroom_epochs.png",
        "lsun_bedroom_loss.png",
        "lsun_bedroom_progress.gif",
        "lsun_bedroom_samples.png",
    ]
    assert sorted(path.name for path in (tmp_path / "models").iterdir()) == [
        "lsun_bedroom_discriminator.h5",
        "lsun_bedroom_discriminator.keras",
        "lsun_bedroom_generator.h5",
        "lsun_bedroom_generator.keras",
    ]
    assert paths["samples"].read_bytes() == (run / "samples" / "epoch_0003.png").read_bytes()
    assert paths["generator"].read_bytes() == (run / "generator.h5").read_bytes()
    assert load_model(paths["discriminator_keras"]).output_shape == (None, 1)
    assert notebook.publish_run(run, "pokemon", tmp_path / "f2", tmp_path / "m2")["loss"].name == "pokemon_loss.png"


def test_epoch_grids_draws_one_panel_per_shown_epoch(tmp_path):
    run = _fake_run(tmp_path / "run", epochs=8)
    assert notebook.epoch_grids(run, tmp_path / "a.png", shown=3) == [1, 5, 8]
    assert notebook.epoch_grids(run, tmp_path / "b.png", shown=8) == list(range(1, 9))
    with Image.open(tmp_path / "a.png") as narrow, Image.open(tmp_path / "b.png") as wide:
        assert wide.size[0] > 2 * narrow.size[0]  # the figure grows with the panels
    with pytest.raises(FileNotFoundError):
        notebook.epoch_grids(tmp_path / "empty", tmp_path / "c.png")


def test_make_image_folder_writes_readable_nested_pictures(tmp_path):
    from utils.folder import list_images, load_folder

    folder = notebook.make_image_folder(tmp_path / "sprites", n=10, seed=3)
    files = list_images(folder)
    assert len(files) == 10 and any(path.parent.name == "nested" for path in files)
    images, skipped = load_folder(folder, 32, 3)
    assert images.shape == (10, 32, 32, 3) and not skipped
    assert images.std() > 10  # coloured blobs on white, not blank pictures
    again = notebook.make_image_folder(tmp_path / "again", n=10, seed=3)
    assert (again / "sprite_000.png").read_bytes() == (folder / "sprite_000.png").read_bytes()


def test_write_digits_folder_writes_every_digit_as_a_picture(tmp_path):
    from utils.folder import list_images, load_folder

    folder = notebook.write_digits_folder(tmp_path / "digits", size=16)
    files = list_images(folder)
    assert len(files) == 1797 and sorted({path.parent.name for path in files}) == [str(d) for d in range(10)]
    images, skipped = load_folder(folder, 16, 1)
    assert images.shape == (1797, 16, 16, 1) and not skipped
    assert images.min() == 0 and images.max() >= 250  # white strokes on black, the full range used


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
    from utils.data import load_dataset

    try:
        assert notebook.use_smoke_data(True, num_examples=12)
        assert notebook.use_smoke_data(True, num_examples=99)  # already active: unchanged
        assert load_dataset("cifar10", batch_size=4).num_examples == 12
    finally:
        notebook.stop_smoke_data()
    assert not notebook.use_smoke_data(False)


def test_classifier_uses_an_existing_file_without_training(tmp_path, capsys):
    path = tmp_path / "given.keras"
    path.write_bytes(b"not read")
    assert notebook.classifier("mnist", path) == path
    assert capsys.readouterr().out == f"classifier: {path}\n"


def test_write_json_writes_nan_as_null(tmp_path):
    path = notebook.write_json(tmp_path / "r.json", {"a": np.float32(0.5), "b": [math.nan, 1], 3: None})
    assert json.loads(path.read_text()) == {"a": 0.5, "b": [None, 1], "3": None}


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
