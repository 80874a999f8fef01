"""`dcgan.py explain` and its figures: in-process checks of the results, the command in a subprocess.

The subprocess commands (about 8 s each) start in a small thread pool before the module's first test, so they
run while the in-process tests do; the tests of the command line come last and wait for their own command.
"""

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import FASHION_MNIST_DIR, last_line, run_cli
from PIL import Image

from utils.analysis.explain import explain_filters, explain_images, plot_explanations, plot_filters
from utils.cli import main
from utils.training.config import ModelConfig
from utils.training.models import build_discriminator, build_generator
from utils.training.saving import save_model

needs_fashion_mnist = pytest.mark.skipif(
    not FASHION_MNIST_DIR.is_dir(), reason=f"Fashion-MNIST IDX files not in {FASHION_MNIST_DIR}"
)
TINY = {"image_size": 28, "channels": 1, "latent_dim": 8, "g_width": 8, "d_width": 8, "kernel_size": 3}
SMALL_RUN = ("--n", 3, "--sample", 16, "--top-filters", 2, "--per-filter", 2, "--seed", 1)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny untrained G and D (28x28x1), and a D for 32x32x1 images, saved in a temporary folder."""
    folder = tmp_path_factory.mktemp("explain_models")
    save_model(build_generator(ModelConfig(**TINY)), folder / "G.h5")
    save_model(build_discriminator(ModelConfig(**TINY)), folder / "D.keras")
    save_model(build_discriminator(ModelConfig(**{**TINY, "image_size": 32})), folder / "D32.keras")
    return folder


@pytest.fixture(scope="module", autouse=True)
def commands(models):
    """Start the subprocess commands before the module's first test; `commands[name].result()` waits for one."""
    d = models
    jobs = {
        "real and generated": (
            *("explain", "--discriminator", d / "D.keras", "--generator", d / "G.h5", "--dataset", "fashion_mnist"),
            *(*SMALL_RUN, "--out", d / "out" / "explain.png"),
        ),
        "missing file": ("explain", "--discriminator", d / "nothing.keras", "--generator", d / "G.h5", "--out", d / "x.png"),
        "generator as discriminator": ("explain", "--discriminator", d / "G.h5", "--dataset", "fashion_mnist", "--out", d / "x.png"),
        "data shape": ("explain", "--discriminator", d / "D32.keras", "--dataset", "fashion_mnist", "--out", d / "x.png"),
    }  # fmt: skip
    pool = ThreadPoolExecutor(max_workers=2)
    yield {name: pool.submit(run_cli, *args) for name, args in jobs.items()}
    pool.shutdown()


def _refused(result, *words):
    assert result.returncode != 0
    message = last_line(result.stderr)
    assert message.startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in message


def test_generated_images_only_rank_filters_on_generated_images(models, capsys):
    out = models / "gen_only" / "fig.png"
    assert main(["explain", "--discriminator", str(models / "D.keras"), "--generator", str(models / "G.h5"),
                 *map(str, SMALL_RUN), "--out", str(out)]) == 0  # fmt: skip
    found = json.loads(last_line(capsys.readouterr().out))
    assert found["filter_images"] == "generated" and "real_mean_logit" not in found
    assert out.is_file() and (out.parent / "fig_filters.png").is_file()


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        ((), ["--dataset", "--generator"]),
        (("--generator", "G.h5", "--n", "20", "--sample", "10"), ["cannot exceed --sample"]),
        (("--generator", "G.h5", "--top-filters", "17"), ["17", "16 filters of conv2_lrelu"]),
        (("--generator", "D.keras"), ["is not a generator"]),
        (("--dataset", "no_such_data"), ["unknown dataset"]),
    ],
)
def test_bad_input_is_refused_in_process(models, capsys, flags, words):
    flags = [str(models / flag) if flag.endswith((".h5", ".keras")) else flag for flag in flags]
    code = main(["explain", "--discriminator", str(models / "D.keras"), *flags, "--out", str(models / "bad.png")])
    message = last_line(capsys.readouterr().err)
    assert code == 2 and message.startswith("error:")
    assert all(word in message for word in words), message


def test_generator_of_another_shape_than_d_is_refused(models, capsys):
    code = main(["explain", "--discriminator", str(models / "D32.keras"), "--generator", str(models / "G.h5"),
                 "--out", str(models / "bad.png")])  # fmt: skip
    assert code == 2 and "makes 28x28x1 images but the discriminator takes 32x32x1" in capsys.readouterr().err


def test_explanations_and_filters_figures(tmp_path):
    discriminator = build_discriminator(ModelConfig(**TINY))
    images = np.random.default_rng(0).uniform(-1, 1, (12, 28, 28, 1)).astype(np.float32)
    result = explain_images(discriminator, images[:4])
    assert result["heatmaps"].shape == (4, 28, 28) and result["overlays"].shape == (4, 28, 28, 3)
    assert result["guided"].shape == (4, 28, 28, 1) and 0 <= result["guided"].min() <= result["guided"].max() <= 1
    filters = explain_filters(discriminator, images, k=3, per_filter=2)
    means = [entry["mean"] for entry in filters]
    assert len(filters) == 3 and means == sorted(means, reverse=True)
    for entry in filters:
        assert entry["images"].shape == (2, 28, 28, 1) and entry["guided"].shape == (2, 28, 28, 1)
        assert entry["scores"][0] >= entry["scores"][1]
    plot_explanations([("real", result), ("generated", explain_images(discriminator, images[4:7]))], tmp_path / "e.png")
    plot_filters(filters, "conv2_lrelu", "real", tmp_path / "f.png")
    for name in ("e.png", "f.png"):
        with Image.open(tmp_path / name) as image:
            assert image.format == "PNG"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["e.png", "f.png"]  # no temporary files left


def test_missing_model_file_is_refused(commands):
    _refused(commands["missing file"].result(), "nothing.keras", "does not exist")


def test_generator_passed_as_discriminator_is_refused(commands):
    _refused(commands["generator as discriminator"].result(), "is not a discriminator")


def test_data_of_another_shape_than_d_is_refused(commands):
    _refused(commands["data shape"].result(), "28x28x1", "32x32x1")


@needs_fashion_mnist
def test_explain_real_and_generated_images(commands, models):
    result = commands["real and generated"].result()
    assert result.returncode == 0, result.stderr
    found = json.loads(last_line(result.stdout))
    assert found["gradcam_layer"] == "conv2" and found["filter_layer"] == "conv2_lrelu"
    assert found["filter_images"] == "real"
    assert found["real_images_scored"] == 16 and found["fake_images_scored"] == 16
    assert len(found["top_filters"]) == 2 and len(set(found["top_filters"])) == 2
    assert all(0 <= index < 16 for index in found["top_filters"])  # conv2 of the tiny D has 16 filters
    assert found["top_filter_mean_activation"] == sorted(found["top_filter_mean_activation"], reverse=True)
    # The generated images are fake_samples(G, 16, seed=1): D's mean logit on them is reproducible here.
    from utils.training.samples import fake_samples
    from utils.training.saving import load_discriminator, load_generator

    fakes = fake_samples(load_generator(models / "G.h5"), 16, seed=1)[0]
    logits = np.asarray(load_discriminator(models / "D.keras")(fakes, training=False))
    assert found["fake_mean_logit"] == pytest.approx(float(logits.mean()), rel=1e-4, abs=1e-5)
    for key in ("out", "filters_out"):
        with Image.open(found[key]) as image:
            assert image.format == "PNG" and image.width > 300
    assert found["filters_out"].endswith("explain_filters.png")
