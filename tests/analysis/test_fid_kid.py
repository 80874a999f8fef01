"""`utils.analysis.fid.fid_kid` (a generator against the reference split and the floor) and `dcgan.py fid`."""

import json

import keras
import numpy as np
import pytest
from conftest import FASHION_MNIST_DIR, last_line, run_cli

from utils.analysis.fid import extract_features, fid, kid
from utils.errors import UserError

# fid_kid: the analysis, in-process.


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny untrained G and D (28x28x1), untrained classifiers for 28x28x1 and 32x32x3 images, and data.

    The data: small Fashion-MNIST IDX files (80 training and 60 test images) and a folder of 50 PNG images.
    """
    import raw_datasets
    from PIL import Image

    from utils.analysis.classifier import build_classifier
    from utils.training.config import ModelConfig
    from utils.training.models import build_discriminator, build_generator
    from utils.training.saving import save_model

    root = tmp_path_factory.mktemp("fid")
    config = ModelConfig(image_size=28, channels=1, latent_dim=8, g_width=8, d_width=8, kernel_size=3)
    save_model(build_generator(config), root / "G.keras")
    save_model(build_discriminator(config), root / "D.keras")
    save_model(build_classifier((28, 28, 1), 10), root / "C28.keras")
    save_model(build_classifier((32, 32, 3), 10), root / "C32.keras")
    raw_datasets.write_mnist(root / "idx", {"train": 80, "test": 60})
    (root / "folder").mkdir()
    rng = np.random.default_rng(0)
    for index in range(50):
        Image.fromarray(rng.integers(0, 256, (30, 36, 3), np.uint8)).save(root / "folder" / f"{index}.png")
    return root


@pytest.fixture(scope="module")
def loaded(models):
    from utils.training.saving import load_generator, load_model

    return load_generator(models / "G.keras"), load_model(models / "C28.keras")


def test_fid_kid_scores_the_samples_and_the_floor_against_the_test_split(models, loaded, tmp_path, monkeypatch):
    from utils.analysis.classifier import feature_extractor
    from utils.analysis.fid import fid_kid
    from utils.analysis.fid_reference import real_sets
    from utils.training.samples import fake_samples

    generator, classifier = loaded
    monkeypatch.chdir(tmp_path)
    lines = []

    result = fid_kid(generator, "fashion_mnist", classifier, models / "idx", n=40, seed=2, log=lines.append)

    extractor = feature_extractor(classifier)
    reference, floor, split = real_sets("fashion_mnist", models / "idx", 40, 2, (28, 28, 1))
    fake_f, reference_f, floor_f = (
        extract_features(extractor, images) for images in (fake_samples(generator, 40, 2)[0], reference, floor)
    )
    assert split == "test" and result["reference"] == "fashion_mnist test"
    assert result["fid"] == fid(fake_f, reference_f) and result["floor_fid"] == fid(floor_f, reference_f)
    assert (result["kid"], result["kid_std"]) == kid(fake_f, reference_f, seed=2)
    assert (result["floor_kid"], result["floor_kid_std"]) == kid(floor_f, reference_f, seed=2)
    assert result["features"] == "classifier" and result["feature_dim"] == 128 and result["n"] == 40
    assert list(result) == ["fid", "kid", "kid_std", "floor_fid", "floor_kid", "floor_kid_std", "features",
                            "feature_dim", "n", "reference", "seconds"]  # fmt: skip
    assert lines == [
        f"FID {result['fid']:.4g} (real floor {result['floor_fid']:.4g}), KID {result['kid']:.4g} +- "
        f"{result['kid_std']:.2g} (floor {result['floor_kid']:.4g}) in classifier features, 40 images each"
    ]
    assert not list(tmp_path.iterdir()), "no figure without out"


def test_fid_kid_on_a_one_split_dataset_halves_it_and_draws_the_chart(models, loaded, tmp_path):
    from utils.analysis.fid import fid_kid

    generator, classifier = loaded

    result = fid_kid(generator, "folder", classifier, models / "folder", n=25, out=tmp_path / "fid.png", log=print)

    assert result["reference"] == "folder half of train" and result["n"] == 25
    assert result["fid"] > 0 and result["floor_fid"] > 0
    assert (tmp_path / "fid.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(UserError, match=r"--n 26 is more than half 1 of the train split of folder holds \(25 images\)"):
        fid_kid(generator, "folder", classifier, models / "folder", n=26)


def test_reference_is_the_held_out_split_or_half_of_a_one_split_dataset(monkeypatch):
    from utils.analysis import fid_reference

    calls = []
    monkeypatch.setattr(fid_reference, "real_images", lambda *args: calls.append(args[:5]) or args[2])

    names = ("lsun/bedroom", "cifar10", "lfw")
    sets = [fid_reference.real_sets(name, None, 7, 3, (64, 64, 3)) for name in names]

    train = {"split": "train"}
    halves = {"split": "train", "half": 1}, {"split": "train", "half": 0}
    assert sets == [
        ({"split": "validation"}, train, "validation"),
        ({"split": "test"}, train, "test"),
        (*halves, "half of train"),
    ]
    assert calls[0] == ("lsun/bedroom", None, {"split": "validation"}, 7, 3)


def test_fid_kid_with_inception_features(loaded, monkeypatch):
    from utils.analysis.fid import fid_kid

    def fake_inception(**kwargs):
        return keras.Sequential([keras.Input((299, 299, 3)), keras.layers.GlobalAveragePooling2D()])

    monkeypatch.setattr(keras.applications, "InceptionV3", fake_inception)
    monkeypatch.setattr("utils.analysis.fid_reference.real_images", lambda *args: np.zeros((args[3], 28, 28, 1)))
    lines = []

    result = fid_kid(loaded[0], "mnist", n=12, log=lines.append)

    assert result["features"] == "inception" and result["feature_dim"] == 3 and result["n"] == 12
    assert lines[0].endswith("in inception features, 12 images each")


@pytest.mark.parametrize(
    ("classifier", "n", "message"),
    [("C32.keras", 10, r"takes images of shape \(32, 32, 3\), but the generator draws \(28, 28, 1\)"),
     ("C28.keras", 1, "n must be at least 2, not 1")],
)  # fmt: skip
def test_fid_kid_refuses_bad_input(models, loaded, classifier, n, message):
    from utils.analysis.fid import fid_kid
    from utils.training.saving import load_model

    with pytest.raises(UserError, match=message):
        fid_kid(loaded[0], "fashion_mnist", load_model(models / classifier), models / "idx", n=n)


# The command line: once in a subprocess (~8 s), its errors in-process.


def assert_user_error(capsys, code, *fragments):
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr, stderr
    assert code == 2
    line = last_line(stderr)
    assert line.startswith("error:") and len(stderr.strip().splitlines()) == 1, stderr
    for fragment in fragments:
        assert fragment in line, line


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason=f"Fashion-MNIST IDX files not in {FASHION_MNIST_DIR}")
def test_cli_fid_scores_a_generator_against_the_floor(models):
    out = models / "fid.png"

    result = run_cli("fid", "--generator", models / "G.keras", "--dataset", "fashion_mnist", "--classifier",
                     models / "C28.keras", "--n", 300, "--out", out)  # fmt: skip

    assert result.returncode == 0, result.stderr
    scores = json.loads(last_line(result.stdout))
    assert {"fid", "kid", "kid_std", "floor_fid", "floor_kid", "features", "n"} <= set(scores)
    assert scores["features"] == "classifier" and scores["n"] == 300
    assert scores["fid"] > 0 and scores["kid"] > 0
    assert scores["fid"] > 3 * scores["floor_fid"], scores  # an untrained G is far worse than real images
    assert out.read_bytes().startswith(b"\x89PNG")


def test_cli_fid_prints_the_scores_then_the_json(models, capsys):
    from utils.cli import main

    out = models / "small.png"
    files = {"--generator": "G.keras", "--classifier": "C28.keras", "--data-dir": "idx", "--out": "small.png"}
    flags = [text for flag, name in files.items() for text in (flag, str(models / name))]

    code = main(["fid", *flags, "--dataset", "fashion_mnist", "--n", "30"])

    lines = capsys.readouterr().out.splitlines()
    report = json.loads(lines[-1])
    assert code == 0 and len(lines) == 3 and lines[1] == f"wrote {out}" and out.read_bytes().startswith(b"\x89PNG")
    assert lines[0].startswith(f"FID {report['fid']:.4g} (real floor {report['floor_fid']:.4g}), KID ")
    assert lines[0].endswith("in classifier features, 30 images each")
    assert report["reference"] == "fashion_mnist test" and report["features"] == "classifier"


@pytest.mark.parametrize(
    ("case", "args", "fragments"),
    [
        ("discriminator as generator", ("--generator", "D.keras", "--classifier", "C28.keras"), ["not a generator"]),
        ("wrong image shape", ("--generator", "G.keras", "--classifier", "C32.keras"),
         ["C32.keras takes images of shape (32, 32, 3)", "but generator", "G.keras draws (28, 28, 1)"]),
        ("missing classifier", ("--generator", "G.keras", "--classifier", "none.keras"), ["none.keras", "not exist"]),
    ],
)  # fmt: skip
def test_cli_fid_bad_input_fails_with_one_line(models, capsys, case, args, fragments):
    from utils.cli import main

    args = [str(models / arg) if arg.endswith(".keras") else arg for arg in args]

    code = main(["fid", *args, "--dataset", "fashion_mnist", "--n", "100", "--out", str(models / f"{case}.png")])

    assert_user_error(capsys, code, *fragments)
    assert not (models / f"{case}.png").exists()
