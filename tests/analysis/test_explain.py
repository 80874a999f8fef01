"""`utils.analysis.explain.explain`, its figures, and `dcgan.py explain` (in-process checks, one subprocess run).

The real images are a small Fashion-MNIST-shaped IDX folder written here (`--data-dir`), so nothing needs the
real data set. The one subprocess command (about 8 s) starts before the module's first test, so it runs while
the in-process tests do; its test comes last and waits for it.
"""

import gzip
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import last_line, run_cli
from PIL import Image

from utils.analysis.explain import explain, explain_filters, explain_images
from utils.analysis.explain_plots import plot_explanations, plot_filters
from utils.cli import main
from utils.errors import UserError
from utils.images import to_unit_range
from utils.training.config import ModelConfig
from utils.training.models import build_discriminator, build_generator
from utils.training.samples import fake_samples
from utils.training.saving import save_model

TINY = {"image_size": 28, "channels": 1, "latent_dim": 8, "g_width": 8, "d_width": 8, "kernel_size": 3}
SMALL_RUN = ("--n", 3, "--sample", 16, "--top-filters", 2, "--per-filter", 2, "--seed", 1)
SMALL = {"n": 3, "sample": 16, "top_filters": 2, "per_filter": 2, "seed": 1}
TRAIN_IMAGES, TEST_IMAGES = 40, 30


def write_idx(path, array):
    """Write a uint8 array as a gzipped IDX file."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(side).to_bytes(4, "big") for side in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.tobytes())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A Fashion-MNIST-shaped IDX folder: (train, test) uint8 images in `data_dir.images`."""
    folder = tmp_path_factory.mktemp("explain_idx")
    rng = np.random.default_rng(0)
    images = {split: rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
              for split, count in (("train", TRAIN_IMAGES), ("t10k", TEST_IMAGES))}  # fmt: skip
    for split, array in images.items():
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", array)
    return folder, images


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny untrained G and D (28x28x1), and a D for 32x32x1 images, saved in a temporary folder."""
    folder = tmp_path_factory.mktemp("explain_models")
    save_model(build_generator(ModelConfig(**TINY)), folder / "G.h5")
    save_model(build_discriminator(ModelConfig(**TINY)), folder / "D.keras")
    save_model(build_discriminator(ModelConfig(**{**TINY, "image_size": 32})), folder / "D32.keras")
    return folder


@pytest.fixture(scope="module")
def nets(models):
    """The models of `models`, loaded: {"G", "D", "D32"}."""
    from utils.training.saving import load_model

    return {name: load_model(models / file) for name, file in (("G", "G.h5"), ("D", "D.keras"), ("D32", "D32.keras"))}


@pytest.fixture(scope="module")
def dense_generator():
    """A one-layer G whose 28x28x1 images change a lot with the noise (the tiny untrained G's hardly do)."""
    import keras

    keras.utils.set_random_seed(0)
    layers = [keras.Input((8,)), keras.layers.Dense(28 * 28, activation="tanh"), keras.layers.Reshape((28, 28, 1))]
    return keras.Sequential(layers, name="dense_generator")


@pytest.fixture(scope="module", autouse=True)
def command(models, data_dir):
    """Start the subprocess command before the module's first test; `command.result()` waits for it."""
    d = models
    args = (
        *("explain", "--discriminator", d / "D.keras", "--generator", d / "G.h5", "--dataset", "fashion_mnist"),
        *("--data-dir", data_dir[0], *SMALL_RUN, "--out", d / "out" / "explain.png"),
    )
    pool = ThreadPoolExecutor(max_workers=1)
    yield pool.submit(run_cli, *args)
    pool.shutdown()


def _layer_scores(discriminator, images, name="conv2_lrelu"):
    """Each filter's mean activation of layer `name` per image, computed layer by layer."""
    x = images
    for layer in discriminator.layers:
        x = layer(x, training=False)
        if layer.name == name:
            return np.asarray(x).mean(axis=(1, 2))
    raise AssertionError(name)


def test_explain_scores_both_kinds_and_writes_figures_only_with_out(nets, dense_generator, data_dir, tmp_path):
    folder, images = data_dir
    discriminator, generator = nets["D"], dense_generator

    found = explain(discriminator, generator, "fashion_mnist", data_dir=folder, **SMALL)

    real = to_unit_range(images["t10k"][..., None])[np.random.default_rng(1).permutation(TEST_IMAGES)[:16]]
    fake = fake_samples(generator, 16, seed=1)[0]
    for prefix, sample in (("real", real), ("fake", fake)):
        logits = np.asarray(discriminator(sample, training=False)).reshape(-1)
        assert found[f"{prefix}_mean_logit"] == pytest.approx(float(logits.mean()), rel=1e-4, abs=1e-5)
        assert found[f"{prefix}_mean_d"] == pytest.approx(float((1 / (1 + np.exp(-logits))).mean()), rel=1e-4)
        assert found[f"{prefix}_images_scored"] == 16
    means = _layer_scores(discriminator, real).mean(axis=0)
    assert found["top_filters"] == list(np.argsort(-means, kind="stable")[:2])
    assert found["top_filter_mean_activation"] == pytest.approx(means[found["top_filters"]], rel=1e-4, abs=1e-6)
    assert (found["gradcam_layer"], found["filter_layer"], found["filter_images"]) == ("conv2", "conv2_lrelu", "real")
    assert found["out"] is None and found["filters_out"] is None
    assert list(tmp_path.iterdir()) == []

    out = tmp_path / "figures" / "e.png"
    written = explain(discriminator, generator, "fashion_mnist", data_dir=folder, **SMALL, out=out)
    assert written == {**found, "out": str(out), "filters_out": str(tmp_path / "figures" / "e_filters.png")}
    assert sorted(path.name for path in out.parent.iterdir()) == ["e.png", "e_filters.png"]
    for path in out.parent.iterdir():
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 300


def test_explain_real_images_of_another_split_size_and_channels(nets, data_dir):
    settings = {**SMALL, "sample": 35, "image_size": 32, "channels": 1}
    test = explain(nets["D32"], dataset="fashion_mnist", data_dir=data_dir[0], **settings)
    train = explain(nets["D32"], dataset="fashion_mnist", data_dir=data_dir[0], split="train", **settings)

    assert test["real_images_scored"] == TEST_IMAGES and train["real_images_scored"] == 35
    assert train["filter_images"] == "real" and "fake_mean_logit" not in train


@pytest.mark.parametrize(
    ("discriminator", "inputs", "message"),
    [
        ("D", {}, "explain needs real images (--dataset), generated ones (--generator) or both"),
        ("D32", {"generator": "G"}, "makes 28x28x1 images but the discriminator takes 32x32x1"),
        ("D32", {"dataset": "fashion_mnist"}, "fashion_mnist images are 28x28x1 but the discriminator takes "
         "32x32x1; pass --image-size/--channels to match"),
        ("D", {"generator": "G", "top_filters": 17}, "--top-filters 17 is more than the 16 filters of conv2_lrelu"),
    ],
)  # fmt: skip
def test_explain_refuses_bad_input(nets, discriminator, inputs, message):
    if "generator" in inputs:
        inputs = {**inputs, "generator": nets[inputs["generator"]]}
    with pytest.raises(UserError) as error:
        explain(nets[discriminator], **inputs)
    assert message in str(error.value)


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
        (("--discriminator", "nothing.keras", "--generator", "G.h5"), ["nothing.keras", "does not exist"]),
        (("--discriminator", "G.h5", "--dataset", "fashion_mnist"), ["is not a discriminator"]),
        (("--discriminator", "D32.keras", "--dataset", "fashion_mnist"), ["28x28x1", "32x32x1"]),
    ],
)
def test_bad_input_is_refused_in_process(models, capsys, flags, words):
    flags = [str(models / flag) if flag.endswith((".h5", ".keras")) else flag for flag in flags]
    code = main(["explain", "--discriminator", str(models / "D.keras"), *flags, "--out", str(models / "bad.png")])
    message = last_line(capsys.readouterr().err)
    assert code == 2 and message.startswith("error:")
    assert all(word in message for word in words), message


def test_generator_of_another_shape_than_d_is_refused(models, capsys):
    generator = models / "G.h5"
    code = main(["explain", "--discriminator", str(models / "D32.keras"), "--generator", str(generator),
                 "--out", str(models / "bad.png")])  # fmt: skip
    assert code == 2
    assert f"error: generator {generator} makes 28x28x1 images but the discriminator takes 32x32x1" in (
        capsys.readouterr().err
    )


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


def test_explain_real_and_generated_images(command, models):
    result = command.result()
    assert result.returncode == 0, result.stderr
    found = json.loads(last_line(result.stdout))
    assert found["gradcam_layer"] == "conv2" and found["filter_layer"] == "conv2_lrelu"
    assert found["filter_images"] == "real"
    assert found["real_images_scored"] == 16 and found["fake_images_scored"] == 16
    assert len(found["top_filters"]) == 2 and len(set(found["top_filters"])) == 2
    assert all(0 <= index < 16 for index in found["top_filters"])  # conv2 of the tiny D has 16 filters
    assert found["top_filter_mean_activation"] == sorted(found["top_filter_mean_activation"], reverse=True)
    # The generated images are fake_samples(G, 16, seed=1): D's mean logit on them is reproducible here.
    from utils.training.saving import load_discriminator, load_generator

    fakes = fake_samples(load_generator(models / "G.h5"), 16, seed=1)[0]
    logits = np.asarray(load_discriminator(models / "D.keras")(fakes, training=False))
    assert found["fake_mean_logit"] == pytest.approx(float(logits.mean()), rel=1e-4, abs=1e-5)
    for key in ("out", "filters_out"):
        with Image.open(found[key]) as image:
            assert image.format == "PNG" and image.width > 300
    assert found["filters_out"].endswith("explain_filters.png")
