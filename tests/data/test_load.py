"""The dataset registry and input pipeline: IDX files, image folders and (mocked) tensorflow-datasets."""

import dataclasses
import gzip

import numpy as np
import pytest
import tensorflow as tf
from conftest import FASHION_MNIST_DIR
from PIL import Image

from utils.data.idx import load_idx
from utils.data.load import load_dataset, subset_indices
from utils.data.registry import DATASETS, dataset_spec
from utils.data.tfds_source import fit_image
from utils.errors import UserError

needs_fashion_mnist = pytest.mark.skipif(
    not (FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").is_file(), reason=f"no IDX files in {FASHION_MNIST_DIR}"
)


def batches(data):
    """Every batch of one epoch as numpy: a list of images arrays, or of (images, labels) pairs."""
    return [tf.nest.map_structure(np.asarray, batch) for batch in data.dataset]


def epoch_images(data):
    """All images of one epoch, concatenated."""
    return np.concatenate([b[0] if isinstance(b, tuple) else b for b in batches(data)])


def check_images(images, batch, size, channels):
    assert images.shape == (batch, size, size, channels)
    assert images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert images.std() > 0


def scaled(uint8_images):
    return uint8_images.astype(np.float32) / 127.5 - 1.0


@pytest.fixture(scope="module")
def fashion_test_split():
    """The raw Fashion-MNIST test split (images (N, 28, 28, 1) uint8, labels (N,) int64)."""
    if not (FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"no IDX files in {FASHION_MNIST_DIR}")
    return load_idx(FASHION_MNIST_DIR, "test")


# --- the registry ------------------------------------------------------------------------------


def test_dataset_spec_and_aliases():
    assert dataset_spec("svhn") == ("svhn_cropped", DATASETS["svhn_cropped"])
    assert dataset_spec("celeba")[0] == "celeb_a"
    assert dataset_spec("lsun_bedroom")[0] == "lsun/bedroom"
    assert dataset_spec("fashion-mnist")[0] == "fashion_mnist"
    assert dataset_spec("mnist")[1].image_size == 28
    assert dataset_spec("celeb_a")[1].crop == 108
    with pytest.raises(UserError, match="unknown dataset"):
        dataset_spec("imagenet")


def test_unknown_dataset():
    with pytest.raises(UserError, match="unknown dataset"):
        load_dataset("imagenet", batch_size=4)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"image_size": 48}, "image size"),
        ({"channels": 2}, "channel"),
        ({"batch_size": 0}, "batch-size"),
    ],
)
def test_bad_settings_fail_before_loading(settings, message):
    with pytest.raises(UserError, match=message):
        load_dataset("cifar10", **{"batch_size": 4, **settings})


def test_subset_indices():
    np.testing.assert_array_equal(subset_indices(5, None, 0), np.arange(5))
    picked = subset_indices(100, 10, seed=3)
    assert len(picked) == 10 and len(set(picked)) == 10
    assert np.all(np.diff(picked) > 0) and picked.max() < 100
    np.testing.assert_array_equal(picked, subset_indices(100, 10, seed=3))
    assert not np.array_equal(picked, subset_indices(100, 10, seed=4))
    np.testing.assert_array_equal(subset_indices(7, 7, 0), np.arange(7))
    with pytest.raises(UserError, match="larger than the data"):
        subset_indices(5, 6, 0)
    with pytest.raises(UserError, match="positive"):
        subset_indices(5, 0, 0)


# --- Fashion-MNIST from the Debian IDX files ----------------------------------------------------


@needs_fashion_mnist
def test_fashion_mnist_from_idx_files():
    data = load_dataset("fashion_mnist", subset=256, batch_size=64)
    assert data.num_examples == 256
    assert (data.image_size, data.channels, data.skipped) == (28, 1, {})
    assert "IDX" in data.source and str(FASHION_MNIST_DIR) in data.source
    epoch = batches(data)
    assert len(epoch) == 4
    for images in epoch:
        check_images(images, 64, 28, 1)
    # Pixels are the uint8 values scaled to [-1, 1]: 256 levels, both ends reached.
    values = np.unique(np.concatenate(epoch))
    np.testing.assert_allclose(values, scaled(np.rint((values + 1) * 127.5)), atol=1e-6)
    assert values[0] == -1.0 and values[-1] == 1.0


@needs_fashion_mnist
def test_fashion_mnist_labels_match_the_idx_files():
    raw_images, raw_labels = load_idx(FASHION_MNIST_DIR, "train")
    data = load_dataset("fashion_mnist", subset=128, batch_size=64, labels=True, shuffle=False, seed=5)
    epoch = batches(data)
    assert len(epoch) == 2
    for images, labels in epoch:
        check_images(images, 64, 28, 1)
        assert labels.shape == (64,)
        assert np.issubdtype(labels.dtype, np.integer)
        assert labels.min() >= 0 and labels.max() <= 9
    keep = subset_indices(60000, 128, 5)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in epoch]), scaled(raw_images[keep]))
    np.testing.assert_array_equal(np.concatenate([b[1] for b in epoch]), raw_labels[keep])


def test_fashion_mnist_test_split(fashion_test_split):
    raw_images, raw_labels = fashion_test_split
    data = load_dataset("fashion_mnist", split="test", batch_size=100, labels=True, shuffle=False)
    assert data.num_examples == len(raw_images) == 10000
    images, labels = next(iter(data.dataset))
    np.testing.assert_array_equal(np.asarray(images), scaled(raw_images[:100]))
    np.testing.assert_array_equal(np.asarray(labels), raw_labels[:100])
    assert set(np.unique(raw_labels)) == set(range(10))


def test_sample_reads_scaled_images_without_tf_data(fashion_test_split):
    raw_images, _ = fashion_test_split
    ordered = load_dataset("fashion_mnist", split="test", batch_size=100, shuffle=False)
    np.testing.assert_array_equal(ordered.sample(30), scaled(raw_images[:30]))
    assert ordered.sample(30).dtype == np.float32
    shuffled = load_dataset("fashion_mnist", split="test", subset=50, batch_size=10, seed=4)
    drawn = shuffled.sample(20)
    np.testing.assert_array_equal(
        drawn, load_dataset("fashion_mnist", split="test", subset=50, batch_size=10, seed=4).sample(20)
    )
    assert not np.array_equal(drawn, scaled(shuffled.arrays()[0][:20]))  # a seeded random choice
    assert len(shuffled.sample(500)) == 50  # all there is


@pytest.mark.parametrize("size", [32, 64])
def test_fashion_mnist_resized_to_rgb(fashion_test_split, size):
    data = load_dataset("fashion_mnist", split="test", image_size=size, channels=3, subset=64, batch_size=32)
    assert (data.image_size, data.channels) == (size, 3)
    epoch = batches(data)
    assert len(epoch) == 2
    for images in epoch:
        check_images(images, 32, size, 3)
        # Grayscale copied into all three channels.
        np.testing.assert_array_equal(images[..., 0], images[..., 1])
        np.testing.assert_array_equal(images[..., 0], images[..., 2])


def test_fashion_mnist_resize_keeps_the_picture(fashion_test_split):
    raw_images, _ = fashion_test_split
    data = load_dataset("fashion_mnist", split="test", image_size=64, subset=8, batch_size=8, shuffle=False)
    images = next(iter(data.dataset)).numpy()
    expected = scaled(raw_images[subset_indices(10000, 8, 0)])
    # Downscaled back to 28x28 the 64x64 images are close to the originals.
    back = tf.image.resize(images, (28, 28), antialias=True).numpy()
    assert np.abs(back - expected).mean() < 0.1
    # ...and each is closer to its own original than to the next one.
    assert np.abs(back - expected).mean() < np.abs(back - np.roll(expected, 1, axis=0)).mean() / 2


def test_subset_is_seeded(fashion_test_split):
    def load(seed):
        return epoch_images(load_dataset("fashion_mnist", split="test", subset=40, batch_size=40, seed=seed))

    first, again, other = load(1), load(1), load(2)
    assert first.shape == (40, 28, 28, 1)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(np.sort(first.reshape(40, -1), axis=0), np.sort(other.reshape(40, -1), axis=0))


def test_shuffle_reorders_every_epoch(fashion_test_split):
    data = load_dataset("fashion_mnist", split="test", subset=64, batch_size=64, seed=3)
    first, second = epoch_images(data), epoch_images(data)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(np.sort(first.reshape(64, -1), axis=0), np.sort(second.reshape(64, -1), axis=0))


def test_subset_larger_than_the_data(fashion_test_split):
    with pytest.raises(UserError, match="larger than the data"):
        load_dataset("fashion_mnist", split="test", subset=10001, batch_size=4)


def test_batch_larger_than_the_data(fashion_test_split):
    with pytest.raises(UserError, match="batch-size"):
        load_dataset("fashion_mnist", split="test", subset=10, batch_size=16)
    data = load_dataset("fashion_mnist", split="test", subset=10, batch_size=16, drop_remainder=False)
    assert [len(b) for b in batches(data)] == [10]


# --- local folders: IDX files and images --------------------------------------------------------


def write_idx(path, array):
    array = np.asarray(array)
    code = {np.dtype(np.uint8): 0x08}[array.dtype]
    data = bytes([0, 0, code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(data + array.tobytes())


@pytest.fixture
def mnist_idx_dir(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    labels = (np.arange(12) % 10).astype(np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images[:4])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels[:4])
    return tmp_path, images, labels


def test_mnist_from_a_data_dir_of_idx_files(mnist_idx_dir):
    folder, images, labels = mnist_idx_dir
    data = load_dataset("mnist", data_dir=folder, batch_size=4, labels=True, shuffle=False)
    assert data.num_examples == 12
    assert "IDX" in data.source and str(folder) in data.source
    epoch = batches(data)
    assert len(epoch) == 3
    np.testing.assert_array_equal(np.concatenate([b[0] for b in epoch])[..., 0], scaled(images))
    np.testing.assert_array_equal(np.concatenate([b[1] for b in epoch]), labels)
    test = load_dataset("mnist", data_dir=str(folder), split="test", batch_size=4)
    assert test.num_examples == 4


def test_mnist_from_idx_files_resized(mnist_idx_dir):
    folder, _, _ = mnist_idx_dir
    data = load_dataset("mnist", data_dir=folder, image_size=32, channels=3, subset=8, batch_size=8)
    assert data.num_examples == 8
    check_images(next(iter(data.dataset)).numpy(), 8, 32, 3)


def test_idx_images_without_labels_get_minus_one(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.full((4, 28, 28), 7, np.uint8))
    data = load_dataset("mnist", data_dir=tmp_path, batch_size=4, labels=True)
    _, labels = next(iter(data.dataset))
    np.testing.assert_array_equal(labels.numpy(), [-1, -1, -1, -1])


@pytest.fixture
def image_dir(tmp_path):
    for index in range(6):
        color = (40 * index, 255 - 40 * index, 100)
        Image.new("RGB", (50 + 10 * index, 40), color).save(tmp_path / f"{index}.png")
    (tmp_path / "sub").mkdir()
    Image.new("L", (30, 30), 200).save(tmp_path / "sub" / "gray.jpg")
    (tmp_path / "sub" / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    return tmp_path


def test_folder_dataset(image_dir):
    data = load_dataset("folder", data_dir=image_dir, batch_size=7, labels=True, shuffle=False)
    assert (data.num_examples, data.skipped, data.image_size, data.channels) == (7, {"unreadable": 1}, 64, 3)
    assert "folder" in data.source and str(image_dir) in data.source
    images, labels = next(iter(data.dataset))
    check_images(images.numpy(), 7, 64, 3)
    np.testing.assert_array_equal(labels.numpy(), [-1] * 7)
    # 0.png is the solid color (0, 255, 100).
    np.testing.assert_allclose(images.numpy()[0, 32, 32], scaled(np.array([0, 255, 100])), atol=1e-6)


def test_folder_dataset_grayscale_small(image_dir):
    data = load_dataset("folder", data_dir=image_dir, image_size=32, channels=1, batch_size=2)
    assert data.num_examples == 7
    epoch = batches(data)
    assert len(epoch) == 3  # 7 images, full batches of 2
    for images in epoch:
        assert images.shape == (2, 32, 32, 1)


def test_folder_dataset_needs_a_data_dir():
    with pytest.raises(UserError, match="data-dir"):
        load_dataset("folder", batch_size=4)


def test_folder_dataset_of_an_empty_folder(tmp_path):
    with pytest.raises(UserError, match="no image files"):
        load_dataset("folder", data_dir=tmp_path, batch_size=4)


# --- tensorflow-datasets (mocked: no downloads) -------------------------------------------------

TFDS_CASES = [
    ("mnist", 28),
    ("mnist", 64),
    ("fashion_mnist", 28),
    ("fashion_mnist", 64),
    ("cifar10", 32),
    ("cifar10", 64),
    ("svhn_cropped", 32),
    ("svhn_cropped", 64),
    ("celeb_a", 64),
    ("celeb_a", 32),
    ("lsun/bedroom", 64),
    ("lfw", 64),
]


@pytest.fixture
def no_local_idx(monkeypatch):
    """Make mnist and fashion_mnist ignore IDX folders on this machine so that tfds is used."""
    for name in ("mnist", "fashion_mnist"):
        monkeypatch.setitem(DATASETS, name, dataclasses.replace(DATASETS[name], idx_dirs=()))


@pytest.mark.parametrize(("name", "size"), TFDS_CASES)
def test_tfds_datasets(no_local_idx, name, size):
    import tensorflow_datasets as tfds

    spec = DATASETS[name]
    with tfds.testing.mock_data(num_examples=20):
        data = load_dataset(name, image_size=size, batch_size=8, labels=True)
        epoch = batches(data)
    assert data.num_examples == 20
    assert data.source == f"tensorflow-datasets {name} (train)"
    assert (data.image_size, data.channels) == (size, spec.channels)
    assert len(epoch) == 2
    for images, labels in epoch:
        check_images(images, 8, size, spec.channels)
        assert labels.shape == (8,)
        if spec.labels:
            assert labels.min() >= 0 and labels.max() <= 9
        else:
            np.testing.assert_array_equal(labels, -1)


def test_tfds_default_sizes(no_local_idx):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=4):
        for name, size in [("mnist", 28), ("cifar10", 32), ("lfw", 64)]:
            data = load_dataset(name, batch_size=4)
            assert data.image_size == size
            assert next(iter(data.dataset)).shape == (4, size, size, DATASETS[name].channels)


def test_tfds_channel_conversion(no_local_idx):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=8):
        gray = next(iter(load_dataset("cifar10", channels=1, batch_size=8).dataset)).numpy()
        rgb = next(iter(load_dataset("mnist", channels=3, batch_size=8).dataset)).numpy()
    assert gray.shape == (8, 32, 32, 1)
    assert rgb.shape == (8, 28, 28, 3)
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])


def indexed_images(count, height, width, channels):
    """Solid images whose value is their index times 10: an image tells which example it was."""
    values = (np.arange(count) * 10).astype(np.uint8)
    return np.broadcast_to(values[:, None, None, None], (count, height, width, channels)).copy()


def test_tfds_subset(no_local_idx):
    # The subset is chosen before any image is decoded: the examples left out are not even valid images.
    import tensorflow_datasets as tfds

    kept = set(subset_indices(20, 10, 7).tolist())

    def as_dataset(self, *args, **kwargs):  # encoded images, as the toolkit reads them
        images = [tf.io.encode_png(image).numpy() if index in kept else b"not an image"
                  for index, image in enumerate(indexed_images(20, 32, 32, 3))]  # fmt: skip
        return tf.data.Dataset.from_tensor_slices({"image": images, "label": np.arange(20, dtype=np.int64) % 10})

    with tfds.testing.mock_data(num_examples=20, as_dataset_fn=as_dataset):
        data = load_dataset("cifar10", subset=10, batch_size=5, seed=7, shuffle=False, labels=True)
        epoch = batches(data)
    assert data.num_examples == 10
    assert len(epoch) == 2
    images = np.concatenate([b[0] for b in epoch])
    picked = np.rint((images[:, 0, 0, 0] + 1) * 127.5).astype(int) // 10
    np.testing.assert_array_equal(picked, subset_indices(20, 10, 7))
    np.testing.assert_array_equal(np.concatenate([b[1] for b in epoch]), picked % 10)


def test_tfds_subset_with_random_mock_data(no_local_idx):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=20):
        data = load_dataset("svhn_cropped", subset=10, batch_size=5)
        assert data.num_examples == 10
        assert len(batches(data)) == 2
        with pytest.raises(UserError, match="larger than the data"):
            load_dataset("svhn_cropped", subset=21, batch_size=5)


def test_celeb_a_crop_path(no_local_idx):
    import tensorflow_datasets as tfds

    # CelebA's 218 x 178 frame: the central 108 x 108 square is white, everything else black.
    frame = np.zeros((218, 178, 3), np.uint8)
    top, left = (218 - 108) // 2, (178 - 108) // 2
    frame[top : top + 108, left : left + 108] = 255

    def as_dataset(self, *args, **kwargs):  # encoded, as the toolkit reads tfds images (decoded after a subset)
        return tf.data.Dataset.from_tensor_slices({"image": [tf.io.encode_png(frame).numpy()] * 4})

    with tfds.testing.mock_data(num_examples=4, as_dataset_fn=as_dataset):
        data = load_dataset("celeb_a", batch_size=4, labels=True)
        images, labels = next(iter(data.dataset))
    assert images.shape == (4, 64, 64, 3)
    np.testing.assert_array_equal(labels.numpy(), [-1] * 4)
    # Only the central square survives the crop: the whole picture is white.
    np.testing.assert_array_equal(images.numpy(), np.ones((4, 64, 64, 3), np.float32))


def test_celeb_a_with_random_mock_data_has_218x178_frames(no_local_idx):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=2):
        raw = next(iter(tfds.load("celeb_a", split="train")))
        assert tuple(raw["image"].shape) == (218, 178, 3)
        data = load_dataset("celeb_a", image_size=128, batch_size=2)
        check_images(next(iter(data.dataset)).numpy(), 2, 128, 3)


def test_tfds_failure_becomes_a_user_error(no_local_idx, tmp_path):
    # Whatever tensorflow-datasets raises (here: data missing from data_dir) becomes a one-line UserError that
    # keeps tfds's whole message.
    import tensorflow_datasets as tfds

    def fail(*args, **kwargs):
        raise FileNotFoundError("dataset not found in data_dir\nmore details")

    with tfds.testing.mock_data(num_examples=1, as_dataset_fn=fail), pytest.raises(UserError) as caught:
        load_dataset("cifar10", batch_size=1, data_dir=tmp_path)
    message = str(caught.value)
    assert "'cifar10'" in message and message.endswith("dataset not found in data_dir more details")
    assert "without network" not in message  # not a download failure


@pytest.mark.parametrize("name", ["fashion_mnist", "cifar10"])
def test_failed_download_fails_fast_and_says_where_to_give_the_data(no_local_idx, tmp_path, monkeypatch, name):
    # The real builder and downloader without network (no name resolves): tfds's 10 retries per file, about
    # 3.5 minutes, are cut to a few seconds, and the error says how to give the data locally.
    import socket
    import time

    from tensorflow_datasets.core.download import downloader

    def no_network(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    start = time.perf_counter()
    with pytest.raises(UserError) as caught:
        load_dataset(name, batch_size=1, data_dir=tmp_path)
    assert time.perf_counter() - start < 60
    message = str(caught.value)
    assert "\n" not in message and f"cannot load {name!r} (train)" in message
    if name == "fashion_mnist":
        assert "IDX files" in message and "apt-get install dataset-fashion-mnist" in message
    else:
        assert f"tfds build cifar10 --data_dir {tmp_path}" in message and "--dataset folder" in message
    assert downloader.MAX_RETRIES == 10  # tfds's own setting is back for whatever runs next


# --- resizing ------------------------------------------------------------------------------------


def test_fit_image_centre_crops_non_square_images():
    # 40 x 80 and white in columns 15..65: the central 40 x 40 square (columns 20..60) is white even
    # where the antialiasing filter reaches a pixel beyond it.
    image = np.zeros((40, 80, 3), np.uint8)
    image[:, 15:65] = 255
    result = fit_image(tf.constant(image), 32, 3, None).numpy()
    assert result.shape == (32, 32, 3) and result.dtype == np.uint8
    assert result.min() == 255


def test_fit_image_keeps_images_of_the_right_size():
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 1), dtype=np.uint8)
    np.testing.assert_array_equal(fit_image(tf.constant(image), 32, 1, None).numpy(), image)
    rgb = fit_image(tf.constant(image), 32, 3, None).numpy()
    np.testing.assert_array_equal(rgb, np.repeat(image, 3, axis=-1))
