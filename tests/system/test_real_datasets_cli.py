"""Every tensorflow-datasets dataset through the command line on its real builder's files, and LSUN from LMDBs as
its release unpacks: train, then every analysis command that reads data, each on the dataset's own splits.

`tests/raw_datasets.py` writes a few dozen examples in each dataset's published raw format and lets the real tfds
builder prepare them (only the download is patched); the commands then run in this process through
`utils.cli.main`, as `python dcgan.py ...` would run them, with the tiniest networks.
"""

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow_datasets")

import raw_datasets

from utils.cli import main
from utils.data.registry import DATASETS

LABELLED = ("mnist", "fashion_mnist", "cifar10", "svhn_cropped")
UNLABELLED = ("celeb_a", "lfw", "lsun/bedroom")  # lfw has only a training split; LSUN is read from its LMDBs
TINY = ("--g-width", 8, "--d-width", 8, "--latent-dim", 8, "--kernel-size", 3, "--batch-size", 8, "--epochs", 1)


def run(capsys, *args):
    """`dcgan.py ARGS` in this process: its JSON result line (the last line of stdout); fails on a non-zero exit."""
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    assert code == 0, f"dcgan.py {' '.join(map(str, args))} exited {code}: {err}"
    return json.loads(out.strip().splitlines()[-1])


def write_lsun(root, category="bedroom", examples=raw_datasets.EXAMPLES):
    """LSUN's release as unpacked: `<category>_train_lmdb` and `<category>_val_lmdb`, hex keys to webp and jpeg bytes."""
    import cv2
    import lmdb

    rng = np.random.default_rng(0)
    for tag in ("train", "val"):
        env = lmdb.open(str(root / f"{category}_{tag}_lmdb"), map_size=1 << 26)
        with env.begin(write=True) as txn:
            for index in range(examples):
                image = rng.integers(0, 256, (72, 96, 3), np.uint8)
                ext = (".webp", ".jpg")[index % 2]
                txn.put(f"{tag}{index:04x}".encode(), cv2.imencode(ext, image)[1].tobytes())
        env.close()
    return root / f"{category}_train_lmdb"


def random_classifier(name, path):
    """A classifier of the dataset's image shape with its initial weights: a feature space for `fid` where the
    dataset has no labels to train one on."""
    from utils.analysis.classifier import build_classifier

    spec = DATASETS[name]
    build_classifier((spec.image_size, spec.image_size, spec.channels), 10).save(path)
    return path


@pytest.mark.parametrize("name", LABELLED + UNLABELLED)
def test_train_and_every_data_command_on_the_real_builders_files(tmp_path, capsys, name):
    if name.startswith("lsun/"):
        data_dir = write_lsun(tmp_path)
    else:
        data_dir = tmp_path / "tfds"
        raw_datasets.prepare(name, data_dir)
    data = ("--dataset", name, "--data-dir", data_dir)
    out = tmp_path / "run"
    generator, discriminator = out / "generator.keras", out / "discriminator.keras"

    assert main(["train", *map(str, data + TINY), "--out", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert generator.exists() and discriminator.exists()

    held_out = {"lfw": "half of train", "lsun/bedroom": "validation"}.get(name, "test")
    explained = run(capsys, "explain", "--discriminator", discriminator, "--generator", generator, *data,
                    "--sample", 8, "--n", 2, "--top-filters", 2, "--per-filter", 2, "--out", tmp_path / "explain.png")  # fmt: skip
    assert explained["real_images_scored"] == explained["fake_images_scored"] == 8

    neighbours = run(capsys, "neighbours", "--generator", generator, "--discriminator", discriminator, *data,
                     "--n", 8, "--k", 2, "--rows", 2, "--out", tmp_path / "neighbours.png")  # fmt: skip
    expected_train = raw_datasets.EXAMPLES // 2 if name == "lfw" else raw_datasets.EXAMPLES
    assert neighbours["train_examples"] == expected_train and neighbours["test_examples"] == 8

    if name in LABELLED:
        classifier = tmp_path / "classifier.keras"
        trained = run(capsys, "classifier", *data, "--out", classifier, "--epochs", 1, "--batch-size", 8)
        assert trained["test_examples"] == raw_datasets.EXAMPLES
        features = run(capsys, "features", "--discriminator", discriminator, *data, "--train-subset", 20)
        assert features["examples"]["test"] == raw_datasets.EXAMPLES
    else:
        classifier = random_classifier(name, tmp_path / "classifier.keras")
    scores = run(capsys, "fid", "--generator", generator, *data, "--classifier", classifier, "--n", 8)
    assert scores["reference"] == f"{name} {held_out}" and scores["n"] == 8
