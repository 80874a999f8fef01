"""Pixel scaling, sample grids, PNG/GIF writing and the crash-safe file helpers."""

import errno
import os
import tempfile

import numpy as np
import pytest
from PIL import Image

from utils.errors import UserError
from utils.files import atomic_path, check_writable_dir, write_text
from utils.images import make_grid, save_gif, save_grid, save_png, to_uint8, to_unit_range


def test_unit_range_round_trip_is_exact_for_every_pixel_value():
    pixels = np.arange(256, dtype=np.uint8)
    scaled = to_unit_range(pixels)
    assert scaled.dtype == np.float32
    assert scaled[0] == -1.0 and scaled[-1] == 1.0
    assert np.all(np.diff(scaled) > 0)
    back = to_uint8(scaled)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, pixels)


def test_unit_range_values():
    np.testing.assert_allclose(to_unit_range([0, 127.5, 255]), [-1.0, 0.0, 1.0])
    assert to_unit_range(np.zeros((2, 3, 4, 1), np.uint8)).shape == (2, 3, 4, 1)


def test_to_uint8_clips_and_rounds():
    values = np.array([-5.0, -1.0001, -1.0, 0.0, 1.0, 1.0001, 7.0, -np.inf, np.inf], np.float32)
    np.testing.assert_array_equal(to_uint8(values), [0, 0, 0, 128, 255, 255, 255, 0, 255])
    # Rounds to the nearest pixel rather than truncating: 254.6 -> 255, 0.4 -> 0.
    assert to_uint8(np.float32(254.6 / 127.5 - 1.0)) == 255
    assert to_uint8(np.float32(0.4 / 127.5 - 1.0)) == 0
    assert to_uint8(np.float32(0.6 / 127.5 - 1.0)) == 1


def test_to_uint8_keeps_shape():
    assert to_uint8(np.zeros((3, 5, 7, 3), np.float64)).shape == (3, 5, 7, 3)


def test_make_grid_shape_and_padding():
    rng = np.random.default_rng(0)
    images = rng.integers(1, 256, size=(5, 3, 4, 3), dtype=np.uint8)  # no zeros: padding is the only black
    grid = make_grid(images)
    # 5 images -> 3 columns x 2 rows, 2 pixels of padding around and between.
    assert grid.shape == (2 * (3 + 2) + 2, 3 * (4 + 2) + 2, 3)
    assert grid.dtype == np.uint8
    for index, image in enumerate(images):
        top, left = 2 + (index // 3) * 5, 2 + (index % 3) * 6
        np.testing.assert_array_equal(grid[top : top + 3, left : left + 4], image)
    mask = np.zeros(grid.shape[:2], bool)
    for index in range(5):
        top, left = 2 + (index // 3) * 5, 2 + (index % 3) * 6
        mask[top : top + 3, left : left + 4] = True
    assert np.all(grid[~mask] == 0)  # padding and the empty sixth cell


def test_make_grid_columns_padding_and_float_input():
    images = np.ones((4, 2, 2, 1), np.float32)  # white in [-1, 1]
    grid = make_grid(images, columns=4, padding=1)
    assert grid.shape == (1 * (2 + 1) + 1, 4 * (2 + 1) + 1, 1)
    assert grid[1:3, 1:3].min() == 255
    assert grid[0].max() == 0 and grid[:, 0].max() == 0
    assert make_grid(images, columns=1, padding=0).shape == (8, 2, 1)
    assert make_grid(images[:1], padding=0).shape == (2, 2, 1)
    np.testing.assert_array_equal(make_grid(-np.ones((1, 2, 2, 3)), padding=0), np.zeros((2, 2, 3), np.uint8))


@pytest.mark.parametrize("channels", [1, 3])
def test_save_grid_writes_a_readable_png(tmp_path, channels):
    images = np.random.default_rng(channels).uniform(-1, 1, size=(6, 8, 8, channels)).astype(np.float32)
    path = tmp_path / "deeper" / "grid.png"
    save_grid(images, path)
    expected = make_grid(images)
    with Image.open(path) as picture:
        assert picture.format == "PNG"
        assert picture.mode == ("L" if channels == 1 else "RGB")
        assert picture.size == (expected.shape[1], expected.shape[0])
        pixels = np.asarray(picture)
    np.testing.assert_array_equal(pixels.reshape(expected.shape), expected)
    assert [p.name for p in path.parent.iterdir()] == ["grid.png"]  # no temporary file left behind


def test_save_grid_columns(tmp_path):
    save_grid(np.zeros((6, 4, 4, 3), np.float32), tmp_path / "grid.png", columns=6)
    with Image.open(tmp_path / "grid.png") as picture:
        assert picture.size == (6 * 6 + 2, 6 + 2)


def test_save_png_overwrites(tmp_path):
    path = tmp_path / "a.png"
    save_png(np.zeros((4, 4, 3), np.uint8), path)
    save_png(np.full((4, 4, 3), 200, np.uint8), path)
    with Image.open(path) as picture:
        assert np.asarray(picture).min() == 200


def test_save_gif_writes_all_frames(tmp_path):
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    frames = []
    for index, color in enumerate(colors):
        frame = tmp_path / f"epoch_{index:03d}.png"
        Image.new("RGB", (10, 6), color).save(frame)
        frames.append(frame)
    gif = tmp_path / "progress.gif"
    save_gif(frames, gif, frame_ms=100)
    with Image.open(gif) as animation:
        assert animation.format == "GIF"
        assert animation.n_frames == 3
        assert animation.is_animated
        assert animation.size == (10, 6)
        assert animation.info.get("loop") == 0
        seen, durations = [], []
        for index in range(animation.n_frames):
            animation.seek(index)
            seen.append(tuple(animation.convert("RGB").getpixel((5, 3))))
            durations.append(animation.info.get("duration"))
    assert seen == colors
    assert durations == [100, 100, 300]  # the last frame is held three times as long


def test_save_gif_of_grayscale_frames(tmp_path):
    frames = []
    for index, value in enumerate((0, 255)):
        frame = tmp_path / f"{index}.png"
        Image.new("L", (4, 4), value).save(frame)
        frames.append(frame)
    save_gif(frames, tmp_path / "out.gif")
    with Image.open(tmp_path / "out.gif") as animation:
        assert animation.n_frames == 2


def test_save_gif_without_frames_writes_nothing(tmp_path):
    save_gif([], tmp_path / "none.gif")
    assert not (tmp_path / "none.gif").exists()


# --- files -----------------------------------------------------------------------------------


def test_atomic_path_replaces_on_success(tmp_path):
    target = tmp_path / "model.keras"
    target.write_text("old")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.suffix == ".keras"  # Keras picks the format from the suffix
        assert tmp != target
        assert not tmp.exists()
        tmp.write_text("new")
        assert target.read_text() == "old"  # not replaced before the block ends
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]


def test_atomic_path_keeps_old_file_when_the_block_raises(tmp_path):
    target = tmp_path / "history.csv"
    target.write_text("old contents")
    with pytest.raises(RuntimeError, match="disk on fire"), atomic_path(target) as tmp:
        tmp.write_text("half written")
        raise RuntimeError("disk on fire")
    assert target.read_text() == "old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv"]


def test_atomic_path_failure_without_an_old_file(tmp_path):
    target = tmp_path / "new.txt"
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_creates_parent_folders(tmp_path):
    target = tmp_path / "a" / "b" / "c.txt"
    write_text(target, "hello")
    assert target.read_text() == "hello"


def test_check_writable_dir_creates_the_folder(tmp_path):
    out = tmp_path / "runs" / "one"
    result = check_writable_dir(str(out))
    assert result == out
    assert out.is_dir()
    assert list(out.iterdir()) == []  # the probe file is gone
    assert check_writable_dir(out) == out  # an existing folder is fine


def test_check_writable_dir_rejects_a_file(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("x")
    with pytest.raises(UserError, match="is a file"):
        check_writable_dir(path)
    assert path.read_text() == "x"


def test_check_writable_dir_rejects_a_folder_below_a_file(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("x")
    with pytest.raises(UserError, match="not writable"):
        check_writable_dir(path / "sub")


def test_check_writable_dir_rejects_a_read_only_folder(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(UserError, match="not writable"):
            check_writable_dir(folder)
    finally:
        folder.chmod(0o700)


def test_check_writable_dir_reports_a_failed_write_probe(tmp_path, monkeypatch):
    # Simulates a read-only folder in a way that also works as root: the probe file cannot be created.
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    with pytest.raises(UserError, match="not writable: Permission denied"):
        check_writable_dir(tmp_path)
