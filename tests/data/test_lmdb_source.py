"""LSUN-style LMDB exports: pixels equal to the folder source's, key order, subsets chosen before decoding, errors."""

import hashlib

import cv2
import lmdb
import numpy as np
import pytest

from utils.data import lmdb_source
from utils.data.folder import load_folder
from utils.data.lmdb_source import is_lmdb, lmdb_count, load_lmdb
from utils.errors import UserError

SIZE = 16
GOOD = 24  # 12 lossless webp and 12 jpeg, alternately 30x40 and 40x30


def noise(height, width, seed):
    return np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def encode(rgb, ext):
    params = {"webp": [cv2.IMWRITE_WEBP_QUALITY, 101], "jpg": [cv2.IMWRITE_JPEG_QUALITY, 95]}.get(ext, [])
    ok, encoded = cv2.imencode(f".{ext}", rgb[..., ::-1], params)  # OpenCV writes BGR
    assert ok
    return encoded.tobytes()


def lsun_key(index):
    return hashlib.sha1(str(index).encode()).hexdigest().encode("ascii")  # hex ids, not in insertion order


def write_lmdb(folder, values):
    env = lmdb.open(str(folder), map_size=1 << 26)
    with env.begin(write=True) as txn:
        for key, value in values.items():
            txn.put(key, value)
    env.close()
    return folder


def bad_values():
    """A JPEG cut in half, bytes that are no image, and a whole PNG whose pixel data is damaged (decoding fails)."""
    cut = encode(noise(40, 40, seed=99), "jpg")
    damaged = bytearray(encode(noise(30, 30, seed=98), "png"))
    at = damaged.find(b"IDAT")
    damaged[at + 20 : at + 60] = bytes(40)
    return {lsun_key(100): cut[: len(cut) // 2], lsun_key(101): b"not an image", lsun_key(102): bytes(damaged)}


@pytest.fixture(scope="module")
def entries():
    """{key: (rgb pixels or None, extension, encoded bytes)} for GOOD images and the 3 bad values."""
    found = {}
    for i in range(GOOD):
        rgb = noise(30, 40, seed=i) if i % 2 else noise(40, 30, seed=i)
        ext = "webp" if i % 4 < 2 else "jpg"
        found[lsun_key(i)] = (rgb, ext, encode(rgb, ext))
    found.update({key: (None, "jpg", value) for key, value in bad_values().items()})  # the folder skips them too
    return found


@pytest.fixture(scope="module")
def db(entries, tmp_path_factory):
    return write_lmdb(tmp_path_factory.mktemp("bedroom_train_lmdb"), {k: v[2] for k, v in entries.items()})


@pytest.fixture(scope="module")
def as_files(entries, tmp_path_factory):
    """The same values as files named after their keys, so file-name order is key order."""
    root = tmp_path_factory.mktemp("files")
    for key, (_, ext, value) in entries.items():
        (root / f"{key.decode()}.{ext}").write_bytes(value)
    return root


def everything(count):
    return np.arange(count)


@pytest.mark.parametrize("channels", [3, 1])
def test_same_arrays_and_skips_as_the_folder_source(db, as_files, channels):
    images, skipped = load_lmdb(db, SIZE, channels, everything)
    expected, expected_skipped = load_folder(as_files, SIZE, channels)
    assert images.shape == (GOOD, SIZE, SIZE, channels) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, expected)
    assert skipped == expected_skipped == {"truncated": 1, "unreadable": 2}  # cut JPEG; non-image, damaged PNG


def test_lossless_webp_gives_exact_pixels_in_key_order(entries, db):
    # At image_size 30 the 30x40 / 40x30 pictures are not resized, only center-cropped: exact pixels.
    images, _ = load_lmdb(db, 30, 3, everything)
    gray, _ = load_lmdb(db, 30, 1, everything)
    good = [(rgb, ext) for _, (rgb, ext, _) in sorted(entries.items()) if rgb is not None]
    assert len(images) == len(gray) == len(good)
    for image, gray_image, (rgb, ext) in zip(images, gray, good, strict=True):
        if ext == "webp":
            crop = rgb[5:35] if rgb.shape[0] == 40 else rgb[:, 5:35]
            np.testing.assert_array_equal(image, crop)
            np.testing.assert_array_equal(gray_image[..., 0], cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY))


def good_positions(entries):
    """Key-order positions of the decodable entries."""
    return [p for p, (_, (rgb, _, _)) in enumerate(sorted(entries.items())) if rgb is not None]


def test_choose_gets_the_entry_count_and_only_chosen_values_are_decoded(entries, db, monkeypatch):
    full, _ = load_lmdb(db, SIZE, 3, everything)
    good = good_positions(entries)
    picks = [good[1], good[7], good[12], good[-1]]
    seen, calls = [], []
    real_imdecode = cv2.imdecode

    def counting_imdecode(*args):
        calls.append(args)
        return real_imdecode(*args)

    def choose(count):
        seen.append(count)
        return np.array(picks)

    monkeypatch.setattr(cv2, "imdecode", counting_imdecode)
    images, skipped = load_lmdb(db, SIZE, 3, choose)
    assert seen == [GOOD + 3]
    assert len(calls) == len(picks)
    np.testing.assert_array_equal(images, full[[1, 7, 12, GOOD - 1]])
    assert skipped == {}


def test_chosen_bad_values_are_skipped_and_counted(entries, db):
    keys = sorted(entries)
    bad = sorted(keys.index(key) for key in bad_values())
    images, skipped = load_lmdb(db, SIZE, 3, lambda n: sorted([*bad, good_positions(entries)[0]]))
    full, _ = load_lmdb(db, SIZE, 3, everything)
    np.testing.assert_array_equal(images, full[:1])
    assert skipped == {"truncated": 1, "unreadable": 2}


def test_reading_in_chunks_gives_the_same_images(db, monkeypatch):
    whole, _ = load_lmdb(db, SIZE, 3, everything)
    monkeypatch.setattr(lmdb_source, "CHUNK", 5)
    np.testing.assert_array_equal(load_lmdb(db, SIZE, 3, everything, workers=2)[0], whole)


def test_is_lmdb_and_count(db, tmp_path):
    assert is_lmdb(db) and not is_lmdb(tmp_path)
    assert lmdb_count(db) == GOOD + 3


def one_line_error(call):
    with pytest.raises(UserError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_folder_without_data_mdb(tmp_path):
    assert "no data.mdb" in one_line_error(lambda: load_lmdb(tmp_path, SIZE, 3, everything))
    assert "no data.mdb" in one_line_error(lambda: lmdb_count(tmp_path))


def test_corrupt_data_mdb(tmp_path):
    (tmp_path / "data.mdb").write_bytes(b"garbage " * 2000)
    assert "cannot open" in one_line_error(lambda: load_lmdb(tmp_path, SIZE, 3, everything))
    assert "cannot open" in one_line_error(lambda: lmdb_count(tmp_path))


def test_every_chosen_value_unreadable(tmp_path):
    folder = write_lmdb(tmp_path / "db", bad_values())
    message = one_line_error(lambda: load_lmdb(folder, SIZE, 3, everything))
    assert "none of the 3 chosen entries" in message and "1 truncated, 2 unreadable" in message


@pytest.mark.parametrize("picks", [[], [3, 1], [0, 0], [GOOD + 3]])
def test_choose_must_return_ascending_indices_in_range(db, picks):
    with pytest.raises(ValueError, match="ascending indices below"):
        load_lmdb(db, SIZE, 3, lambda n: picks)


def test_lsun_folder_finds_each_split_as_the_release_unpacks(tmp_path, entries):
    values = {k: v[2] for k, v in entries.items()}
    train = write_lmdb(tmp_path / "bedroom_train_lmdb", values)
    assert lmdb_source.lsun_folder("bedroom", train, "train") == train
    assert lmdb_source.lsun_folder("bedroom", tmp_path, "train") == train
    with pytest.raises(UserError) as error:  # the validation LMDB is not there yet
        lmdb_source.lsun_folder("bedroom", train, "validation")
    assert "\n" not in str(error.value) and "bedroom_val_lmdb" in str(error.value)
    val = write_lmdb(tmp_path / "bedroom_val_lmdb", values)
    assert lmdb_source.lsun_folder("bedroom", train, "validation") == val  # beside the training LMDB
    assert lmdb_source.lsun_folder("bedroom", tmp_path, "validation") == val
    assert lmdb_source.lsun_folder("bedroom", tmp_path / "elsewhere", "train") is None  # no LMDB: tfds then


def test_load_dataset_reads_lsun_lmdbs_with_a_subset_chosen_before_decoding(tmp_path, entries, monkeypatch):
    from utils.data.load import load_dataset, subset_indices

    values = {k: v[2] for k, v in entries.items()}
    train = write_lmdb(tmp_path / "restaurant_train_lmdb", values)
    data = load_dataset("lsun/restaurant", data_dir=train, batch_size=4, shuffle=False, drop_remainder=False)
    images, labels = data.arrays()
    assert data.source == f"LMDB in {train} (train)" and data.skipped == {"truncated": 1, "unreadable": 2}
    assert images.shape == (GOOD, 64, 64, 3) and (labels == -1).all()

    decoded = []
    real = cv2.imdecode
    monkeypatch.setattr(cv2, "imdecode", lambda *args: decoded.append(1) or real(*args))
    part = load_dataset("lsun/restaurant", data_dir=train, subset=5, seed=2, batch_size=4, shuffle=False)
    assert len(decoded) <= 5  # only the chosen values were decoded (bad ones among them are not)
    kept = [i for i in subset_indices(len(values), 5, 2) if sorted(values)[i] in {lsun_key(j) for j in range(GOOD)}]
    assert part.num_examples == len(kept)
