"""Every tensorflow-datasets dataset of the registry through its real tfds builder, then through `load_dataset`.

`tests/raw_datasets.py` writes a few dozen known examples in each dataset's published raw format and runs the real
builder on them offline (only the download is patched). Unlike `tfds.testing.mock_data`, which returns random
examples for any split name, this checks every real split: its example count, its labels and its pixels (exact for
lossless formats, the base colour for JPEGs), the toolkit's default size and channels, and that a split the dataset
does not have is a one-line UserError.
"""

import collections
import dataclasses

import numpy as np
import pytest

pytest.importorskip("tensorflow_datasets")

import raw_datasets

from utils.data.load import load_dataset, subset_indices
from utils.data.registry import DATASETS
from utils.errors import UserError

SPLITS = {  # every split of the real dataset in tfds
    "mnist": ("train", "test"),
    "fashion_mnist": ("train", "test"),
    "cifar10": ("train", "test"),
    "svhn_cropped": ("train", "test", "extra"),
    "celeb_a": ("train", "validation", "test"),
    "lfw": ("train",),
}
MISSING = {  # a split the dataset does not have
    "mnist": "validation",
    "fashion_mnist": "validation",
    "cifar10": "validation",
    "svhn_cropped": "validation",
    "celeb_a": "extra",
    "lfw": "test",
}
COLOR_TOLERANCE = 8  # largest change of a JPEG image's mean colour per channel (JPEG, crop and resize)
SUBSET, SUBSET_SEED = 10, 3


@pytest.fixture
def tfds_only(monkeypatch):
    """mnist and fashion_mnist search no IDX folders of this machine (e.g. Debian's), so tensorflow-datasets is used."""
    for name in ("mnist", "fashion_mnist"):
        monkeypatch.setitem(DATASETS, name, dataclasses.replace(DATASETS[name], idx_dirs=()))


def load(name, data_dir, split, **kwargs):
    """Every example of a split, in the stored order, at the toolkit's default size and channels."""
    return load_dataset(
        name, data_dir=data_dir, split=split, labels=True, batch_size=8, shuffle=False, drop_remainder=False, **kwargs
    )


def labelled_digests(images, labels):
    return collections.Counter(zip(labels.tolist(), map(raw_datasets.digest, images), strict=True))


def check_content(written, images, labels):
    """The loaded examples are the written ones: (label, exact pixels) pairs, or one base colour each for JPEGs."""
    if written.digests is not None:
        expected = collections.Counter(zip(written.labels.tolist(), written.digests, strict=True))
        assert labelled_digests(images, labels) == expected
        assert sorted(labels.tolist()) == sorted(written.labels.tolist())
        return
    assert (labels == -1).all()  # CelebA and LFW carry no class label in the toolkit
    means = images.reshape(len(images), -1, 3).mean(axis=1)
    distance = np.abs(means[:, None, :] - written.colors[None].astype(np.float64)).max(axis=-1)
    nearest = distance.argmin(axis=1)
    assert sorted(nearest.tolist()) == list(range(written.count)), "every written image comes out exactly once"
    assert distance[np.arange(len(images)), nearest].max() < COLOR_TOLERANCE


@pytest.mark.parametrize("name", list(SPLITS))
def test_real_builder_splits(tfds_only, tmp_path, name):
    written = raw_datasets.prepare(name, tmp_path)
    assert set(written) == set(SPLITS[name])
    spec = DATASETS[name]
    for split in SPLITS[name]:
        data = load(name, tmp_path, split)
        assert data.source == f"tensorflow-datasets {name} ({split})"
        assert data.num_examples == written[split].count
        assert (data.image_size, data.channels) == (spec.image_size, spec.channels)
        images, labels = data.arrays()
        assert images.dtype == np.uint8
        assert images.shape == (written[split].count, spec.image_size, spec.image_size, spec.channels)
        assert labels.shape == (written[split].count,)
        check_content(written[split], images, labels)

        if split == "train":
            # The tf.data pipeline of analysis: the same examples, scaled to [-1, 1].
            batch_images, batch_labels = next(iter(data.dataset))
            assert batch_images.shape == (8, spec.image_size, spec.image_size, spec.channels)
            np.testing.assert_allclose(batch_images.numpy(), images[:8] / 127.5 - 1.0, atol=1e-6)
            np.testing.assert_array_equal(batch_labels.numpy(), labels[:8])
            # A seeded subset keeps the chosen examples of the split's order.
            part = load(name, tmp_path, split, subset=SUBSET, seed=SUBSET_SEED)
            assert part.num_examples == SUBSET
            kept = subset_indices(written[split].count, SUBSET, SUBSET_SEED)
            part_images, part_labels = part.arrays()
            np.testing.assert_array_equal(part_images, images[kept])
            np.testing.assert_array_equal(part_labels, labels[kept])

    missing = MISSING[name]
    with pytest.raises(UserError) as error:
        load(name, tmp_path, missing)
    message = str(error.value)
    assert "\n" not in message
    assert name in message and missing in message


def test_fashion_mnist_idx_files_and_tfds_agree(tmp_path):
    """The same raw files read as IDX files (the toolkit's first choice) and through the tfds builder."""
    written = raw_datasets.write_raw("fashion_mnist", tmp_path / "idx")
    prepared = raw_datasets.prepare("fashion_mnist", tmp_path / "tfds")
    for split in SPLITS["fashion_mnist"]:
        assert prepared[split].digests == written[split].digests
        data = load("fashion_mnist", tmp_path / "idx", split)
        assert data.source == f"IDX files in {tmp_path / 'idx'}"
        images, labels = data.arrays()
        assert images.shape == (written[split].count, 28, 28, 1)
        # IDX files keep the written order.
        np.testing.assert_array_equal(labels, written[split].labels)
        assert [raw_datasets.digest(image) for image in images] == written[split].digests
        # tfds stores the examples in its own order: compare the sorted pairs.
        tfds_images, tfds_labels = load("fashion_mnist", tmp_path / "tfds", split).arrays()
        assert labelled_digests(tfds_images, tfds_labels) == labelled_digests(images, labels)


def test_written_files_are_deterministic(tmp_path):
    """Two writes with one seed give the same bytes; another seed gives other content."""
    for name in SPLITS:
        raw_datasets.write_raw(name, tmp_path / "a" / name, examples=4)
        raw_datasets.write_raw(name, tmp_path / "b" / name, examples=4)
        raw_datasets.write_raw(name, tmp_path / "c" / name, examples=4, seed=1)
        files = sorted(path.name for path in (tmp_path / "a" / name).iterdir())
        assert files == sorted(path.name for path in (tmp_path / "b" / name).iterdir())
        for file_name in files:
            first = (tmp_path / "a" / name / file_name).read_bytes()
            assert first == (tmp_path / "b" / name / file_name).read_bytes(), file_name
        assert any(
            (tmp_path / "a" / name / file_name).read_bytes() != (tmp_path / "c" / name / file_name).read_bytes()
            for file_name in files
        )
