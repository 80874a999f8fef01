"""The command line as a user runs it (`python dcgan.py ...` in a subprocess): help, errors, summary, sample, train.

Commands that import TensorFlow take ~8 s each, so the module starts them all at once in a small thread pool
(`background`); each test then waits only for its own command. Errors caught before TensorFlow runs directly.
"""

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import FASHION_MNIST_DIR, last_line, run_cli
from PIL import Image

from utils.cli import build_parser

HAS_FASHION_MNIST = FASHION_MNIST_DIR.is_dir()
needs_fashion_mnist = pytest.mark.skipif(
    not HAS_FASHION_MNIST, reason=f"Fashion-MNIST IDX files not in {FASHION_MNIST_DIR}"
)

# The same settings as conftest's `tiny_model`, as flags.
TINY_FLAGS = ("--image-size", 28, "--g-width", 8, "--d-width", 8, "--latent-dim", 8, "--kernel-size", 3)
MODEL_FLAGS = [
    "--architecture",
    "--image-size",
    "--channels",
    "--latent-dim",
    "--g-width",
    "--d-width",
    "--kernel-size",
    "--batchnorm",
    "--d-dropout",
    "--projection",
    "--d-output",
]
FLAGS = {
    (): ["--help", "train", "resume", "sample", "summary"],
    ("train",): [
        "--help",
        "--dataset",
        "--data-dir",
        "--subset",
        *MODEL_FLAGS,
        "--epochs",
        "--batch-size",
        "--learning-rate",
        "--beta1",
        "--seed",
        "--deterministic",
        "--out",
    ],
    ("resume",): ["--help", "--out", "--epochs", "--learning-rate", "--steps-per-execution"],
    ("sample",): ["--help", "--generator", "--n", "--seed", "--noise", "--latent-dim", "--columns", "--out"],
    ("summary",): ["--help", "--dataset", *MODEL_FLAGS],
}
RUN_FILES = (
    "generator.keras",
    "generator.h5",
    "discriminator.keras",
    "discriminator.h5",
    "history.csv",
    "loss.png",
    "progress.gif",
    "config.json",
    "samples/epoch_0001.png",
    "checkpoints/last.npz",
    "checkpoints/best.npz",
)


def parser_flags(command):
    """Every option string the real parser of `command` (or of the top level) accepts."""
    parser = build_parser()
    if command:
        subparsers = next(action for action in parser._actions if action.dest == "command")
        parser = subparsers.choices[command[0]]
    return [option for action in parser._actions for option in action.option_strings if option.startswith("--")]


def mentions(text, word):
    """Whether `word` appears in `text` as a whole flag or command (so '--n' is not found in '--noise')."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def assert_user_error(result, *fragments):
    """A clean failure: non-zero exit, no traceback, and a last stderr line 'error: ...' naming `fragments`."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode != 0, result.stdout + result.stderr
    line = last_line(result.stderr)
    assert line.startswith("error:"), result.stderr
    for fragment in fragments:
        assert fragment in line, line


def epochs_in(history_csv):
    lines = history_csv.read_text().splitlines()
    column = lines[0].split(",").index("epoch")
    return [int(line.split(",")[column]) for line in lines[1:]]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Inputs of the commands: saved tiny models (untrained), an empty and an unreadable image folder."""
    from utils.training.config import ModelConfig
    from utils.training.models import build_discriminator, build_generator
    from utils.training.saving import save_model

    root = tmp_path_factory.mktemp("cli")
    model = ModelConfig(image_size=28, channels=1, latent_dim=8, g_width=8, d_width=8, kernel_size=3)
    generator, discriminator = build_generator(model), build_discriminator(model)
    for suffix in (".keras", ".h5"):
        save_model(generator, root / f"G{suffix}")
        save_model(discriminator, root / f"D{suffix}")
    (root / "empty").mkdir()
    (root / "garbage" / "nested").mkdir(parents=True)
    for index, name in enumerate(["a.png", "b.PNG", "nested/c.jpg"]):
        (root / "garbage" / name).write_bytes(os.urandom(200 + index) + b"not an image")
    (root / "no_run").mkdir()
    return root


def _train_then_resume(out):
    trained = run_cli("train", "--dataset", "fashion_mnist", "--subset", 64, "--batch-size", 32, "--epochs", 1,
                      *TINY_FLAGS, "--out", out)  # fmt: skip
    snapshot = {name: (out / name).is_file() for name in RUN_FILES}
    snapshot["epochs"] = epochs_in(out / "history.csv") if (out / "history.csv").is_file() else None
    resumed = run_cli("resume", "--out", out, "--epochs", 2, "--steps-per-execution", 2)  # both steps in one call
    return trained, snapshot, resumed


@pytest.fixture(scope="module")
def background(files):
    """Start every TensorFlow-importing command now; `background[name]` waits for and returns its result."""
    d = files
    commands = {
        "summary seed002-doubled": ("summary", "--architecture", "seed002-doubled"),
        "summary seed002-extra-layer": ("summary", "--architecture", "seed002-extra-layer"),
        "sample .keras": ("sample", "--generator", d / "G.keras", "--n", 16, "--out", d / "from_keras.png"),
        "sample .h5": ("sample", "--generator", d / "G.h5", "--n", 16, "--out", d / "from_h5.png"),
        "empty folder": ("train", "--dataset", "folder", "--data-dir", d / "empty", "--out", d / "out_empty"),
        "unreadable folder": ("train", "--dataset", "folder", "--data-dir", d / "garbage", "--out", d / "out_bad"),
        "resume without checkpoint": ("resume", "--out", d / "no_run"),
        "sample a discriminator": ("sample", "--generator", d / "D.keras", "--out", d / "d.png"),
        "sample wrong latent size": ("sample", "--generator", d / "G.keras", "--latent-dim", 9, "--out", d / "l.png"),
        "sample missing generator": ("sample", "--generator", d / "missing.keras", "--out", d / "m.png"),
    }
    if HAS_FASHION_MNIST:
        commands["subset too large"] = ("train", "--dataset", "fashion_mnist", "--subset", 100000, *TINY_FLAGS,
                                        "--out", d / "out_subset")  # fmt: skip
    pool = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)))
    futures = {}
    if HAS_FASHION_MNIST:  # the longest job first
        futures["train and resume"] = pool.submit(_train_then_resume, d / "run")
    futures.update({name: pool.submit(run_cli, *args) for name, args in commands.items()})

    class Results:
        def __getitem__(self, name):
            return futures[name].result()

    yield Results()
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("command", list(FLAGS), ids=lambda command: " ".join(command) or "top")
def test_help_mentions_every_flag(command):
    result = run_cli(*command, "--help")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: dcgan.py"), result.stdout
    for word in dict.fromkeys([*FLAGS[command], *parser_flags(command)]):
        assert mentions(result.stdout, word), f"{word} missing from {' '.join(command)} --help"


# Bad input that must be refused before TensorFlow is imported (well under a second).
FAST_ERRORS = {
    "unknown dataset": (("train", "--dataset", "no_such_data"), ["unknown dataset", "no_such_data"]),
    "folder without --data-dir": (("train", "--dataset", "folder"), ["--data-dir"]),
    "missing folder": (("train", "--dataset", "folder", "--data-dir", "{tmp}/missing"), ["missing", "not a folder"]),
    "unsupported image size": (("train", "--dataset", "fashion_mnist", "--image-size", 48), ["image size 48"]),
}


@pytest.mark.parametrize("case", list(FAST_ERRORS))
def test_bad_settings_fail_fast_with_one_line(case, tmp_path):
    args, fragments = FAST_ERRORS[case]
    out = tmp_path / "out"

    result = run_cli(*(str(arg).format(tmp=tmp_path) for arg in args), "--out", out)

    assert_user_error(result, *fragments)
    assert not out.exists(), "nothing should be written for bad settings"


def test_out_that_is_a_file_is_refused(tmp_path):
    out = tmp_path / "taken.txt"
    out.write_text("keep me")

    result = run_cli("train", "--dataset", "fashion_mnist", "--out", out)

    assert_user_error(result, "is a file")
    assert out.read_text() == "keep me"


def test_unknown_flag_is_an_argparse_error():
    result = run_cli("sample", "--generator", "G.keras", "--out", "x.png", "--no-such-flag")

    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert re.match(r"dcgan\.py( \w+)?: error:", last_line(result.stderr)), result.stderr
    assert "--no-such-flag" in last_line(result.stderr)


ERRORS = {
    "empty folder": ["no image files"],
    "unreadable folder": ["none of the 3 image files", "could be read"],
    "resume without checkpoint": ["no checkpoint"],
    "sample a discriminator": ["D.keras", "not a generator"],
    "sample wrong latent size": ["latent size 8", "not 9"],
    "sample missing generator": ["missing.keras", "does not exist"],
    "subset too large": ["--subset 100000", "60000"],
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_bad_input_fails_with_one_line(case, background, files):
    if case == "subset too large" and not HAS_FASHION_MNIST:
        pytest.skip(f"Fashion-MNIST IDX files not in {FASHION_MNIST_DIR}")

    assert_user_error(background[case], *ERRORS[case])
    if case.startswith("sample"):
        assert not list(files.glob("[dlm].png")), "a failed sample must not write a PNG"


@pytest.mark.parametrize(
    ("architecture", "expected"), [("seed002-doubled", 72_922_240), ("seed002-extra-layer", 19_053_120)]
)
def test_summary_parameter_counts(architecture, expected, background):
    result = background[f"summary {architecture}"]

    assert result.returncode == 0, result.stderr
    counts = json.loads(last_line(result.stdout))
    assert abs(counts["generator"] - expected) <= 1e-3 * expected, counts
    assert counts["discriminator"] > 0
    assert "generator" in result.stdout and "discriminator" in result.stdout  # the Keras summaries


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_sample_writes_a_png_grid(suffix, background, files):
    result = background[f"sample {suffix}"]
    path = files / f"from_{suffix[1:]}.png"

    assert result.returncode == 0, result.stderr
    assert "wrote 16 samples" in result.stdout
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (4 * 30 + 2, 4 * 30 + 2)  # 4x4 grid of 28-pixel images, 2-pixel padding
        pixels = np.asarray(image)
    assert pixels.std() > 0, "the grid is blank"


def test_sample_keras_and_h5_give_the_same_images(background, files):
    for suffix in (".keras", ".h5"):
        assert background[f"sample {suffix}"].returncode == 0
    assert (files / "from_keras.png").read_bytes() == (files / "from_h5.png").read_bytes()


@needs_fashion_mnist
def test_train_writes_a_run(background, files):
    trained, snapshot, _ = background["train and resume"]

    assert trained.returncode == 0, trained.stderr
    assert "Traceback" not in trained.stderr
    missing = [name for name in RUN_FILES if not snapshot[name]]
    assert not missing, f"train did not write {missing}"
    assert snapshot["epochs"] == [1]


@needs_fashion_mnist
def test_resume_continues_to_the_requested_epoch(background, files):
    trained, _, resumed = background["train and resume"]
    out = files / "run"
    assert trained.returncode == 0, trained.stderr

    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from epoch 1 of 2" in resumed.stdout
    assert epochs_in(out / "history.csv") == [1, 2]
    assert (out / "samples" / "epoch_0002.png").is_file()
    with np.load(out / "checkpoints" / "last.npz") as checkpoint:
        assert int(checkpoint["epoch"]) == 2
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["epochs"] == 2 and config["training"]["steps_per_execution"] == 2
    assert config["data"]["subset"] == 64 and config["model"]["g_width"] == 8
    assert config["command"].startswith("python dcgan.py train")
