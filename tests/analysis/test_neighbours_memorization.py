"""`utils.analysis.neighbours.memorization` in-process, and `dcgan.py neighbours` (one subprocess run).

The data are a small Fashion-MNIST-shaped IDX folder and a folder of images written here, so nothing needs the
real data set. The one subprocess command (about 10 s) starts with the first test that asks for it.
"""

import gzip
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import last_line, run_cli
from PIL import Image

from utils.analysis.neighbours import compare, memorization, nearest, verdict
from utils.cli import main
from utils.errors import UserError

TRAIN_IMAGES, TEST_IMAGES, FOLDER_IMAGES = 320, 50, 20


def write_idx(path, array):
    """Write a uint8 array as a gzipped IDX file."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(side).to_bytes(4, "big") for side in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.tobytes())


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """{"idx": a Fashion-MNIST-shaped IDX folder, "train"/"test": its uint8 images, "folder": 20 RGB images}."""
    root = tmp_path_factory.mktemp("neighbours_data")
    rng = np.random.default_rng(0)
    found = {"idx": root / "idx", "folder": root / "folder"}
    found["idx"].mkdir()
    found["folder"].mkdir()
    for split, stem, count in (("train", "train", TRAIN_IMAGES), ("test", "t10k", TEST_IMAGES)):
        found[split] = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        write_idx(found["idx"] / f"{stem}-images-idx3-ubyte.gz", found[split])
    for index in range(FOLDER_IMAGES):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(found["folder"] / f"{index:02d}.png")
    return found


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny untrained models, built and saved: {name: (model, path)} for G, D (28x28x1), G64 and D32 (RGB)."""
    from utils.training.config import ModelConfig
    from utils.training.models import build_discriminator, build_generator
    from utils.training.saving import save_model

    root = tmp_path_factory.mktemp("neighbours_models")
    tiny = {"latent_dim": 8, "g_width": 8, "d_width": 8, "kernel_size": 3}
    built = {
        "G.keras": build_generator(ModelConfig(image_size=28, channels=1, **tiny)),
        "D.h5": build_discriminator(ModelConfig(image_size=28, channels=1, **tiny)),
        "G64.keras": build_generator(ModelConfig(image_size=64, channels=3, **tiny)),
        "D32.keras": build_discriminator(ModelConfig(image_size=32, channels=3, **tiny)),
    }
    for name, model in built.items():
        save_model(model, root / name)
    return {name.split(".")[0]: (model, root / name) for name, model in built.items()}


@pytest.fixture(scope="module")
def cli_run(models, data, tmp_path_factory):
    """The one `dcgan.py neighbours` subprocess, started when first asked for: (future, output folder)."""
    root = tmp_path_factory.mktemp("neighbours_cli")
    args = (
        *("neighbours", "--generator", models["G"][1], "--discriminator", models["D"][1]),
        *("--dataset", "fashion_mnist", "--data-dir", data["idx"], "--train-subset", 300, "--n", 40),
        *("--k", 3, "--rows", 4, "--out", root / "grid.png"),
    )
    pool = ThreadPoolExecutor(max_workers=1)
    yield pool.submit(run_cli, *args), root
    pool.shutdown()


def expected_spaces(generator, discriminator, train, test, n, k):
    """`compare` results per space, computed step by step from the loaded images."""
    from utils.analysis.features import extract_features, feature_extractor
    from utils.analysis.svm import standardiser
    from utils.training.samples import fake_samples

    generated = fake_samples(generator, n, 0)[0]
    spaces = {"pixel": (generated, test, train)}
    if discriminator is not None:
        extractor = feature_extractor(discriminator)
        mean, scale = standardiser(extract_features(extractor, train))
        spaces["d_features"] = [(extract_features(extractor, x) - mean) / scale for x in (generated, test, train)]
    return {
        space: compare(nearest(queries, references, k)[0][:, 0], nearest(held_out, references, 1)[0][:, 0])
        for space, (queries, held_out, references) in spaces.items()
    }


def test_memorization_returns_the_numbers_and_draws_only_with_out(cli_run, models, data, tmp_path):
    # Asking for `cli_run` starts the subprocess now, so it runs while the in-process tests do.
    from utils.data.load import subset_indices
    from utils.images import to_unit_range

    generator, discriminator = models["G"][0], models["D"][0]
    lines = []
    settings = {"data_dir": data["idx"], "n": 20, "k": 3, "rows": 4, "train_subset": 50, "log": lines.append}

    report = memorization(generator, "fashion_mnist", discriminator, **settings)

    train = to_unit_range(data["train"][subset_indices(TRAIN_IMAGES, 50, 0)][..., None])
    test = data["test"][np.sort(np.random.default_rng(0).choice(TEST_IMAGES, 20, replace=False))]
    expected = expected_spaces(generator, discriminator, train, to_unit_range(test[..., None]), 20, 3)
    assert report["pixel"] == expected["pixel"] and report["d_features"] == expected["d_features"]
    assert report["memorization"] == (expected["pixel"]["memorization"] or expected["d_features"]["memorization"])
    assert report["verdict"] == verdict({"pixel": expected["pixel"], "D-feature": expected["d_features"]})
    assert (report["n"], report["k"], report["train_examples"], report["test_examples"]) == (20, 3, 50, 20)
    assert report["figures"] == [] and lines == [report["verdict"]]
    assert list(report) == ["pixel", "d_features", "memorization", "verdict", "n", "k", "train_examples",
                            "test_examples", "figures", "seconds"]  # fmt: skip

    lines.clear()
    out = tmp_path / "figures" / "nn.png"
    drawn = memorization(generator, "fashion_mnist", discriminator, **settings, out=out)
    figures = [str(out), str(tmp_path / "figures" / "nn_distances.png")]
    assert {**drawn, "seconds": None} == {**report, "figures": figures, "seconds": None}
    assert lines == [f"wrote {figures[0]} and {figures[1]}", report["verdict"]]
    assert sorted(path.name for path in out.parent.iterdir()) == ["nn.png", "nn_distances.png"]
    for path in figures:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 300
    with Image.open(out) as grid:  # 1 + 2 spaces x 3 neighbours columns, 4 rows, at 100 pixels an inch
        assert grid.size == (100 * (1 + 2 * 3), round(100 * (1.15 * 4 + 0.4)))


def test_memorization_of_a_folder_searches_one_half_and_holds_out_the_other(models, data):
    from utils.data.folder import load_folder
    from utils.data.load import subset_indices
    from utils.images import to_unit_range

    report = memorization(models["G64"][0], "folder", data_dir=data["folder"], n=30, k=2, rows=3, log=[].append)

    images = to_unit_range(load_folder(data["folder"], 64, 3)[0])
    search, held_out = (subset_indices(FOLDER_IMAGES, None, 0, half) for half in (0, 1))
    assert not set(search) & set(held_out) and len(search) + len(held_out) == FOLDER_IMAGES
    expected = expected_spaces(models["G64"][0], None, images[search], images[held_out], 30, 2)
    assert (report["train_examples"], report["test_examples"]) == (FOLDER_IMAGES // 2, FOLDER_IMAGES // 2)
    assert report["pixel"] == expected["pixel"] and report["d_features"] is None


@pytest.mark.parametrize(
    ("generator", "dataset", "settings", "message"),
    [
        ("G", "fashion_mnist", {"train_subset": 500}, f"--train-subset 500 is larger than the data ({TRAIN_IMAGES} "),
        ("G64", "folder", {"k": 50}, "too few images: 10 training and 10 test images for --k 50"),
        ("G64", "fashion_mnist", {}, "makes images of shape (64, 64, 3), fashion_mnist has (28, 28, 1)"),
        ("G", "fashion_mnist", {"discriminator": "D32"}, "takes images of shape (32, 32, 3), not (28, 28, 1)"),
    ],
)
def test_memorization_refuses_bad_input(models, data, generator, dataset, settings, message):
    if "discriminator" in settings:
        settings = {**settings, "discriminator": models[settings["discriminator"]][0]}
    data_dir = data["folder"] if dataset == "folder" else data["idx"]
    with pytest.raises(UserError) as error:
        memorization(models[generator][0], dataset, data_dir=data_dir, n=30, log=[].append, **settings)
    assert message in str(error.value)


def test_cli_writes_both_figures_and_a_verdict(cli_run):
    result, root = cli_run[0].result(), cli_run[1]

    assert result.returncode == 0, result.stderr
    report = json.loads(last_line(result.stdout))
    for space in ("pixel", "d_features"):
        assert report[space]["median_generated"] > 0 and report[space]["median_test"] > 0
        assert report[space]["ratio"] == pytest.approx(report[space]["median_generated"] / report[space]["median_test"])
        assert 0 <= report[space]["near_duplicates"] <= 1
    assert report["verdict"] in result.stdout
    assert report["verdict"].startswith(("no sign of memorization", "warning"))
    assert f"wrote {root / 'grid.png'} and {root / 'grid_distances.png'}" in result.stdout.splitlines()
    assert report["train_examples"] == 300 and report["test_examples"] == 40 and report["n"] == 40
    for name in ("grid.png", "grid_distances.png"):
        assert (root / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("case", "fragment"),
    [("missing", "does not exist"), ("discriminator as generator", "not a generator"), ("shape", "shape")],
)
def test_cli_bad_input_fails_with_one_line(models, data, tmp_path, capsys, case, fragment):
    generator, discriminator = {
        "missing": (tmp_path / "missing.keras", None),
        "discriminator as generator": (models["D"][1], None),
        "shape": (models["G"][1], models["D32"][1]),
    }[case]
    flags = ["--generator", str(generator), "--dataset", "fashion_mnist", "--data-dir", str(data["idx"])]
    flags += ["--discriminator", str(discriminator)] if discriminator else []

    code = main(["neighbours", *flags, "--train-subset", "300", "--n", "40", "--out", str(tmp_path / "x.png")])

    message = last_line(capsys.readouterr().err)
    assert code == 2 and message.startswith("error:")
    assert fragment in message


def test_cli_rows_above_n_fail_before_tensorflow(tmp_path, capsys):
    code = main(["neighbours", "--generator", str(tmp_path / "G.keras"), "--dataset", "fashion_mnist",
                 "--n", "4", "--rows", "8", "--out", str(tmp_path / "grid.png")])  # fmt: skip

    assert code == 2
    assert last_line(capsys.readouterr().err) == "error: --rows 8 is more than the --n 4 generated samples"
