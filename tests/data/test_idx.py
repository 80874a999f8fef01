"""IDX reader: round trips of tiny files written here, file discovery and malformed files."""

import gzip

import numpy as np
import pytest

from utils.data.idx import find_idx, load_idx, read_idx
from utils.errors import UserError

TYPE_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array):
    """Encode `array` as an IDX file: magic (0, 0, type, ndim), big-endian dimensions, big-endian data."""
    array = np.asarray(array)
    header = bytes([0, 0, TYPE_CODES[array.dtype.type], array.ndim])
    header += b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, gz=False):
    data = idx_bytes(array)
    if gz:
        with gzip.open(path, "wb") as handle:
            handle.write(data)
    else:
        path.write_bytes(data)
    return path


def tiny_images(count=6, height=5, width=4, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(count, height, width), dtype=np.uint8)


def tiny_labels(count=6, seed=0):
    return np.random.default_rng(seed + 1).integers(0, 10, size=count, dtype=np.uint8)


def test_idx_bytes_matches_the_published_header():
    # MNIST's train-images header: magic 0x00000803, then 60000, 28, 28 (big-endian).
    header = idx_bytes(np.zeros((60000, 28, 28), np.uint8))[:16]
    assert header == bytes.fromhex("00000803 0000ea60 0000001c 0000001c")


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip_uint8(tmp_path, gz):
    images = tiny_images()
    path = write_idx(tmp_path / ("x-idx3-ubyte" + (".gz" if gz else "")), images, gz)
    result = read_idx(path)
    assert result.shape == images.shape
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, images)
    read_idx(str(path))  # str paths work too


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_read_idx_round_trip_big_endian_types(tmp_path, dtype):
    values = np.arange(-12, 12).reshape(2, 3, 4).astype(np.float64)
    if np.dtype(dtype).itemsize > 1:
        values *= 1000  # several bytes per value: a byte-order mistake changes them
    if np.dtype(dtype).kind == "f":
        values += 0.25
    array = values.astype(dtype)
    result = read_idx(write_idx(tmp_path / "v.idx3-ubyte", array))
    assert result.dtype == np.dtype(dtype)
    assert result.dtype.isnative
    np.testing.assert_array_equal(result, array)


def test_read_idx_one_dimension(tmp_path):
    labels = tiny_labels(9)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "l-idx1-ubyte", labels)), labels)


def test_read_idx_refuses_bytes_beyond_the_header_shape(tmp_path):
    # A header that undercounts the data would drop or shift pixels silently.
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(idx_bytes(tiny_images(2)) + b"\xff\xff")
    with pytest.raises(UserError, match="2 bytes more than its header's shape"):
        read_idx(path)


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x08\x03" + bytes(16),  # second magic byte must be zero
        b"\x01\x00\x08\x03" + bytes(16),  # first magic byte must be zero
        b"\x00\x00\x07\x03" + bytes(16),  # unknown type code
        b"\x89PNG\r\n\x1a\n" + bytes(16),  # some other file
        b"\x00\x00",  # shorter than the magic number
        b"",
    ],
)
def test_read_idx_wrong_magic_number(tmp_path, data):
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(data)
    with pytest.raises(UserError, match="magic number"):
        read_idx(path)


def test_read_idx_truncated_header(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(idx_bytes(tiny_images())[:10])  # 3 dimensions need 16 header bytes
    with pytest.raises(UserError, match="header"):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_truncated_data(tmp_path, gz):
    data = idx_bytes(tiny_images())[:-1]
    path = tmp_path / ("x-idx3-ubyte" + (".gz" if gz else ""))
    if gz:
        with gzip.open(path, "wb") as handle:
            handle.write(data)
    else:
        path.write_bytes(data)
    with pytest.raises(UserError, match="truncated"):
        read_idx(path)


def test_read_idx_truncated_gzip_stream(tmp_path):
    path = write_idx(tmp_path / "x-idx3-ubyte.gz", tiny_images(50), gz=True)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(UserError):
        read_idx(path)


def test_read_idx_gz_name_without_gzip_contents(tmp_path):
    path = tmp_path / "x-idx3-ubyte.gz"
    path.write_bytes(idx_bytes(tiny_images()))
    with pytest.raises(UserError, match="cannot read"):
        read_idx(path)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(UserError, match="cannot read"):
        read_idx(tmp_path / "nothing-idx3-ubyte")


# --- find_idx / load_idx -----------------------------------------------------------------------


def test_find_idx_names(tmp_path):
    assert find_idx(tmp_path) is None
    images = write_idx(tmp_path / "train-images-idx3-ubyte", tiny_images())
    assert find_idx(tmp_path) == (images, None)
    labels = write_idx(tmp_path / "train-labels-idx1-ubyte.gz", tiny_labels(), gz=True)
    assert find_idx(tmp_path, "train") == (images, labels)
    assert find_idx(tmp_path, "test") is None
    # The dotted spelling some mirrors use, for the test split (t10k).
    test_images = write_idx(tmp_path / "t10k-images.idx3-ubyte", tiny_images(3))
    test_labels = write_idx(tmp_path / "t10k-labels.idx1-ubyte", tiny_labels(3))
    assert find_idx(str(tmp_path), "test") == (test_images, test_labels)


def test_find_idx_is_not_recursive(tmp_path):
    (tmp_path / "sub").mkdir()
    write_idx(tmp_path / "sub" / "train-images-idx3-ubyte", tiny_images())
    assert find_idx(tmp_path) is None
    assert load_idx(tmp_path) is None


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("split", ["train", "test"])
def test_load_idx_round_trip(tmp_path, gz, split):
    stem = {"train": "train", "test": "t10k"}[split]
    suffix = ".gz" if gz else ""
    images, labels = tiny_images(7, 6, 6, seed=3), tiny_labels(7, seed=3)
    write_idx(tmp_path / f"{stem}-images-idx3-ubyte{suffix}", images, gz)
    write_idx(tmp_path / f"{stem}-labels-idx1-ubyte{suffix}", labels, gz)
    loaded_images, loaded_labels = load_idx(tmp_path, split)
    assert loaded_images.shape == (7, 6, 6, 1)
    assert loaded_images.dtype == np.uint8
    np.testing.assert_array_equal(loaded_images[..., 0], images)
    assert loaded_labels.dtype == np.int64
    np.testing.assert_array_equal(loaded_labels, labels)
    other = "test" if split == "train" else "train"
    assert load_idx(tmp_path, other) is None


def test_load_idx_without_labels(tmp_path):
    images = tiny_images()
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    loaded_images, loaded_labels = load_idx(tmp_path)
    assert loaded_labels is None
    np.testing.assert_array_equal(loaded_images[..., 0], images)


def test_load_idx_labels_count_mismatch(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", tiny_images(6))
    write_idx(tmp_path / "train-labels-idx1-ubyte", tiny_labels(5))
    with pytest.raises(UserError, match="labels"):
        load_idx(tmp_path)


def test_load_idx_labels_with_wrong_rank(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", tiny_images(6))
    write_idx(tmp_path / "train-labels-idx1-ubyte", tiny_labels(6).reshape(6, 1))
    with pytest.raises(UserError, match="labels"):
        load_idx(tmp_path)


def test_load_idx_rejects_non_uint8_images(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", tiny_images().astype(np.float32))
    with pytest.raises(UserError, match="uint8"):
        load_idx(tmp_path)


def test_load_idx_rejects_images_of_wrong_rank(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", tiny_images().reshape(6, 20))
    with pytest.raises(UserError, match="uint8 images"):
        load_idx(tmp_path)


def test_load_idx_malformed_images_file(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"not an idx file at all")
    with pytest.raises(UserError, match="magic"):
        load_idx(tmp_path)


def test_load_idx_folder_without_idx_files(tmp_path):
    (tmp_path / "readme.txt").write_text("no data here")
    (tmp_path / "train-images.png").write_bytes(b"\x89PNG")
    assert load_idx(tmp_path) is None
    assert load_idx(tmp_path, "test") is None


def test_load_idx_rejects_a_file_of_no_images(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((0, 28, 28), np.uint8))
    with pytest.raises(UserError, match="holds no images"):
        load_idx(tmp_path)
