"""Image folders: nested files in every supported format and mode, unreadable files, pixel values."""

import os

import cv2
import numpy as np
import pytest
from PIL import Image

from utils.data.folder import list_images, load_folder, read_image, resize_and_crop, usable_cpus
from utils.errors import UserError

RED = (255, 0, 0)


def noise(height, width, channels=3, seed=0):
    shape = (height, width) if channels == 1 else (height, width, channels)
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def garbage_jpeg_bytes():
    ok, encoded = cv2.imencode(".jpg", noise(40, 40))
    assert ok
    return encoded.tobytes()


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory):
    """A nested folder of 12 readable images of every kind, 2 unreadable ones and 2 non-image files."""
    root = tmp_path_factory.mktemp("images")
    (root / "a" / "b").mkdir(parents=True)
    (root / "c").mkdir()
    Image.fromarray(noise(40, 40, seed=1)).save(root / "rgb.png")
    Image.fromarray(noise(50, 30, seed=2)).save(root / "a" / "tall.jpg", quality=90)
    Image.fromarray(noise(20, 70, seed=3)).save(root / "a" / "wide.JPEG")  # upper-case extension
    Image.fromarray(noise(33, 33, seed=4)).save(root / "a" / "b" / "bitmap.bmp")
    Image.fromarray(noise(64, 48, seed=5)).save(root / "a" / "b" / "photo.webp")
    Image.fromarray(noise(30, 30, 1, seed=6)).save(root / "c" / "gray.png")
    Image.fromarray(noise(30, 40, 4, seed=7)).save(root / "c" / "alpha.png")
    cv2.imwrite(str(root / "c" / "deep16.png"), (noise(25, 35, seed=8).astype(np.uint16) * 257))
    cv2.imwrite(str(root / "c" / "gray16.png"), (noise(25, 25, 1, seed=9).astype(np.uint16) * 257))
    palette = Image.fromarray(noise(30, 30, seed=10)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.save(root / "c" / "palette.png")
    Image.fromarray(noise(128, 200, seed=11)).save(root / "big.png")  # downscaled with INTER_AREA
    Image.fromarray(noise(24, 24, seed=12)).save(root / "c" / "café au lait ü.png")
    # Unreadable: an empty file and a JPEG cut in half; plus files that are not images at all.
    (root / "empty.png").write_bytes(b"")
    data = garbage_jpeg_bytes()
    (root / "a" / "broken.jpg").write_bytes(data[: len(data) // 2])
    (root / "notes.txt").write_text("not an image")
    (root / "a" / "labels.csv").write_text("x,y\n")
    return root


GOOD, BAD = 12, 2


def test_list_images_recurses_and_filters_extensions(mixed_folder):
    found = list_images(mixed_folder)
    assert len(found) == GOOD + BAD
    assert found == sorted(found)
    names = {path.name for path in found}
    assert {"wide.JPEG", "bitmap.bmp", "photo.webp", "café au lait ü.png", "broken.jpg"} <= names
    assert "notes.txt" not in names and "labels.csv" not in names


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_load_folder_shapes_and_skips(mixed_folder, size, channels):
    images, skipped = load_folder(mixed_folder, size, channels)
    assert images.shape == (GOOD, size, size, channels)
    assert images.dtype == np.uint8
    assert skipped == {"truncated": 1, "unreadable": 1}  # the JPEG cut in half, the empty file
    # Noise images: every image keeps real content (not blank) after decoding and resizing.
    assert all(image.std() > 10 for image in images)


def test_load_folder_is_ordered_and_deterministic(mixed_folder):
    first, _ = load_folder(mixed_folder, 32, 3, workers=1)
    second, _ = load_folder(str(mixed_folder), 32, 3, workers=8)
    np.testing.assert_array_equal(first, second)


def test_folders_decode_on_the_cpus_this_process_may_use(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3}, raising=False)
    assert usable_cpus() == 2


def test_unicode_and_space_filename(tmp_path):
    path = tmp_path / "ñame with spaces ü 写真.png"
    Image.new("RGB", (10, 10), (10, 20, 30)).save(path)
    images, skipped = load_folder(tmp_path, 32, 3)
    assert images.shape == (1, 32, 32, 3) and skipped == {}
    assert tuple(images[0, 16, 16]) == (10, 20, 30)


def test_solid_red_png_is_rgb_ordered(tmp_path):
    Image.new("RGB", (20, 20), RED).save(tmp_path / "red.png")
    rgb, _ = load_folder(tmp_path, 32, 3)
    assert np.all(rgb[0] == RED)
    gray, _ = load_folder(tmp_path, 32, 1)
    # ITU-R 601 luma of pure red: 0.299 * 255 = 76.
    assert np.all(np.abs(gray[0].astype(int) - 76) <= 1)


@pytest.mark.parametrize("suffix", [".jpg", ".bmp", ".webp"])
def test_solid_red_in_other_formats(tmp_path, suffix):
    Image.new("RGB", (20, 20), RED).save(tmp_path / f"red{suffix}", **({"quality": 100} if suffix != ".bmp" else {}))
    images, _ = load_folder(tmp_path, 32, 3)
    pixel = images[0, 16, 16].astype(int)
    assert pixel[0] > 240 and pixel[1] < 15 and pixel[2] < 15


def test_fully_transparent_rgba_becomes_white(tmp_path):
    Image.new("RGBA", (20, 20), (0, 0, 255, 0)).save(tmp_path / "clear.png")
    images, _ = load_folder(tmp_path, 32, 3)
    assert np.all(images == 255)
    gray, _ = load_folder(tmp_path, 32, 1)
    assert np.all(gray == 255)


def test_opaque_and_half_transparent_rgba(tmp_path):
    Image.new("RGBA", (20, 20), (0, 0, 255, 255)).save(tmp_path / "a_blue.png")
    Image.new("RGBA", (20, 20), (0, 0, 0, 128)).save(tmp_path / "b_half_black.png")
    images, _ = load_folder(tmp_path, 32, 3)
    assert np.all(images[0] == (0, 0, 255))
    # Black at alpha 128/255 over white: 255 * (1 - 128/255) = 127.
    assert np.all(np.abs(images[1].astype(int) - 127) <= 1)


def test_grayscale_to_rgb_repeats_the_channel(tmp_path):
    Image.fromarray(noise(32, 32, 1, seed=5)).save(tmp_path / "g.png")
    images, _ = load_folder(tmp_path, 32, 3)
    np.testing.assert_array_equal(images[0, ..., 0], noise(32, 32, 1, seed=5))
    np.testing.assert_array_equal(images[0, ..., 0], images[0, ..., 1])
    np.testing.assert_array_equal(images[0, ..., 0], images[0, ..., 2])


def test_sixteen_bit_png_is_scaled_to_eight_bits(tmp_path):
    gray = np.array([[0, 257 * 100], [257 * 200, 65535]], np.uint16).repeat(16, 0).repeat(16, 1)
    cv2.imwrite(str(tmp_path / "g16.png"), gray)
    images, _ = load_folder(tmp_path, 32, 1)
    assert images[0, 0, 0, 0] == 0 and images[0, 0, 31, 0] == 100
    assert images[0, 31, 0, 0] == 200 and images[0, 31, 31, 0] == 255


def test_palette_png(tmp_path):
    picture = Image.new("P", (20, 20), 1)
    picture.putpalette([0, 0, 0, *RED] + [0] * 762)
    picture.save(tmp_path / "p.png")
    images, _ = load_folder(tmp_path, 32, 3)
    assert np.all(images[0] == RED)


def test_same_size_image_is_unchanged(tmp_path):
    pixels = noise(32, 32, seed=21)
    Image.fromarray(pixels).save(tmp_path / "x.png")
    images, _ = load_folder(tmp_path, 32, 3)
    np.testing.assert_array_equal(images[0], pixels)


def test_non_square_image_keeps_the_central_square(tmp_path):
    # 20 x 100, red in columns 30..70 and blue elsewhere: the central square after scaling to height 32
    # comes from columns 40..60 only, so it must be pure red.
    pixels = np.zeros((20, 100, 3), np.uint8)
    pixels[...] = (0, 0, 255)
    pixels[:, 30:70] = RED
    Image.fromarray(pixels).save(tmp_path / "wide.png")
    Image.fromarray(pixels.transpose(1, 0, 2).copy()).save(tmp_path / "tall.png")
    images, _ = load_folder(tmp_path, 32, 3)
    assert images.shape == (2, 32, 32, 3)
    assert np.all(images == RED)


def test_resize_and_crop_shapes():
    assert resize_and_crop(noise(20, 100), 32).shape == (32, 32, 3)
    assert resize_and_crop(noise(300, 64), 64).shape == (64, 64, 3)
    assert resize_and_crop(noise(5, 7, 1), 28).shape == (28, 28, 1)


def test_read_image_returns_none_for_unreadable_files(tmp_path):
    (tmp_path / "zero.png").write_bytes(b"")
    (tmp_path / "garbage.jpg").write_bytes(np.random.default_rng(0).bytes(1000))
    data = garbage_jpeg_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    for name in ("zero.png", "garbage.jpg", "cut.jpg", "missing.png"):
        assert read_image(tmp_path / name, 32, 3) is None, name


def test_unreadable_files_among_good_ones_are_skipped_and_counted(tmp_path):
    for index in range(3):
        Image.fromarray(noise(16, 16, seed=index)).save(tmp_path / f"good{index}.png")
    (tmp_path / "zero.jpg").write_bytes(b"")
    (tmp_path / "garbage.jpg").write_bytes(np.random.default_rng(0).bytes(1000))
    images, skipped = load_folder(tmp_path, 32, 3)
    assert images.shape == (3, 32, 32, 3)
    assert skipped == {"unreadable": 2}


def test_symlinked_folders_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    Image.new("RGB", (8, 8), RED).save(outside / "x.png")
    root = tmp_path / "root"
    root.mkdir()
    Image.new("RGB", (8, 8), RED).save(root / "y.png")
    os.symlink(outside, root / "link", target_is_directory=True)
    assert [path.name for path in list_images(root)] == ["y.png"]


def test_missing_folder(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_folder(tmp_path / "nope", 32, 3)


def test_a_file_is_not_a_folder(tmp_path):
    path = tmp_path / "x.png"
    Image.new("RGB", (8, 8)).save(path)
    with pytest.raises(UserError, match="does not exist"):
        load_folder(path, 32, 3)


def test_empty_folder(tmp_path):
    with pytest.raises(UserError, match="no image files"):
        load_folder(tmp_path, 32, 3)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "readme.txt").write_text("hi")
    with pytest.raises(UserError, match="no image files"):
        load_folder(tmp_path, 32, 3)


def test_folder_of_only_unreadable_files(tmp_path):
    (tmp_path / "zero.png").write_bytes(b"")
    (tmp_path / "garbage.jpg").write_bytes(b"this is not a jpeg")
    with pytest.raises(UserError, match=r"none of the 2 image files .* \(2 unreadable\)"):
        load_folder(tmp_path, 32, 3)
