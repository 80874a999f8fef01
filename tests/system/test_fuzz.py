"""Broken data: generated folders of good and broken image files, and mutated IDX files (hypothesis).

Every good file is one solid colour, so "no silently wrong pixels" is checked exactly: each loaded image must
be that colour everywhere, and every broken file must be skipped and counted under its reason.
"""

import gzip
import io
import json
import os
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from test_idx import TYPE_CODES, idx_bytes

from utils.data import image_checks
from utils.data.folder import NOT_A_FILE, TOO_LARGE, TRUNCATED, UNREADABLE, load_folder
from utils.data.idx import read_idx
from utils.errors import UserError

# The same examples on every run (no flaky CI, no example database written into the repository).
FUZZ = settings(
    max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)

# (format, Pillow mode) pairs that the folder loader must read exactly (JPEG within a small tolerance).
KINDS = [
    ("PNG", "L"), ("PNG", "RGB"), ("PNG", "RGBA"), ("PNG", "LA"), ("PNG", "P"), ("PNG", "PA"), ("PNG", "I;16"),
    ("JPEG", "L"), ("JPEG", "RGB"), ("JPEG", "CMYK"), ("BMP", "L"), ("BMP", "RGB"), ("BMP", "P"),
    ("WEBP", "RGB"), ("WEBP", "RGBA"),
]  # fmt: skip
SUFFIXES = {"PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp", "WEBP": ".webp"}
NAME_CHARACTERS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\")


def encode(image_format, mode, size, colour, alpha):
    """A solid picture's file bytes, and the RGB pixel it must load as (alpha composited on white)."""
    rgb = np.array(colour, float)
    if mode in ("L", "LA", "I;16"):
        rgb = np.full(3, colour[0], float)
    if mode in ("RGBA", "LA", "PA"):
        rgb = rgb * alpha / 255 + 255 * (1 - alpha / 255)
    if mode in ("P", "PA"):
        image = Image.new("P", size, 0)
        image.putpalette([*colour, *[0] * 765])
        options = {"transparency": bytes([alpha])} if mode == "PA" else {}
    elif mode == "I;16":
        image, options = Image.new("I;16", size, colour[0] * 257), {}
    else:
        fill = {"L": colour[0], "LA": (colour[0], alpha), "RGBA": (*colour, alpha)}.get(mode, tuple(colour))
        image = Image.new("RGB" if mode == "CMYK" else mode, size, fill)
        image = image.convert("CMYK") if mode == "CMYK" else image
        options = {}
    options.update({"JPEG": {"quality": 95}, "WEBP": {"lossless": True}}.get(image_format, {}))
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue(), rgb


def huge_png(side=100_000):
    """A tiny PNG file whose header announces a side x side picture."""

    def chunk(kind, data):
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = side.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    pixels = zlib.compress(b"\x00" * (side + 1))  # the first row only
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@st.composite
def entries(draw):
    """One folder entry: (name, kind, bytes or link target, expected RGB or the reason it must be skipped)."""
    stem = draw(st.text(NAME_CHARACTERS, min_size=1, max_size=10).filter(lambda s: s not in (".", "..")))
    kind = draw(st.sampled_from(["good"] * 5 + ["truncated", "empty", "not an image", "huge", "loop", "dangling"]))
    image_format, mode = draw(st.sampled_from(KINDS))
    size = (draw(st.integers(1, 48)), draw(st.integers(1, 48)))
    colour = draw(st.tuples(*[st.integers(0, 255)] * 3))
    data, rgb = encode(image_format, mode, size, colour, draw(st.integers(0, 255)))
    suffix = SUFFIXES[image_format]
    suffix = suffix.upper() if draw(st.booleans()) else suffix
    if kind == "truncated":
        return stem + suffix, "file", data[: draw(st.integers(1, len(data) - 1))], TRUNCATED
    if kind == "empty":
        return stem + suffix, "file", b"", UNREADABLE
    if kind == "not an image":
        # An error page saved under an image name, or bytes that no image format starts with.
        junk = draw(
            st.sampled_from([b"<html><body>404 Not Found</body></html>", b"\x00" + draw(st.binary(max_size=300))])
        )
        return stem + suffix, "file", junk, UNREADABLE
    if kind == "huge":
        return stem + ".png", "file", huge_png(), TOO_LARGE
    if kind in ("loop", "dangling"):
        return stem + suffix, kind, None, UNREADABLE
    return stem + suffix, "file", data, (rgb, 4 if image_format == "JPEG" else 1)


def build(folder, listing):
    """Write `listing` (from `entries`) under `folder`, half of it one level down; returns {path: expected}."""
    expected = {}
    for index, (name, kind, data, result) in enumerate(listing):
        path = folder / ("sub" if index % 2 else "") / name
        if path in expected or path.name.lower() in {p.name.lower() for p in expected}:
            continue
        path.parent.mkdir(exist_ok=True)
        if kind == "file":
            path.write_bytes(data)
        else:
            os.symlink(path.name if kind == "loop" else ".no-such-target", path)
        expected[path] = result
    return expected


@FUZZ
@given(listing=st.lists(entries(), min_size=1, max_size=10), channels=st.sampled_from([1, 3]))
def test_generated_folders_load_exactly_or_skip_with_a_reason(listing, channels):
    with tempfile.TemporaryDirectory() as root:
        expected = build(Path(root), listing)
        good = {path: result for path, result in expected.items() if not isinstance(result, str)}
        reasons = [result for result in expected.values() if isinstance(result, str)]

        if not good:
            with pytest.raises(UserError, match=f"none of the {len(expected)} image files"):
                load_folder(root, 28, channels, workers=4)
            return
        images, skipped = load_folder(root, 28, channels, workers=4)

    # A file cut inside its header cannot be told from any other unreadable one: either reason counts.
    counted = {reason: skipped.get(reason, 0) for reason in (TRUNCATED, UNREADABLE, TOO_LARGE, NOT_A_FILE)}
    assert set(skipped) <= set(counted) and sum(skipped.values()) == len(reasons)
    assert counted[TOO_LARGE] == reasons.count(TOO_LARGE)
    assert counted[TRUNCATED] <= reasons.count(TRUNCATED)
    assert counted[UNREADABLE] >= reasons.count(UNREADABLE)
    assert images.shape == (len(good), 28, 28, channels)
    for image, path in zip(images, sorted(good), strict=True):
        rgb, tolerance = good[path]
        rgb = np.round(rgb)  # composited on white and rounded to bytes first, as the loader does
        want = rgb if channels == 3 else np.round([0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]])
        error = np.abs(image.astype(float) - want).max()
        assert error <= tolerance, f"{path.name}: {image[0, 0]} instead of {want}"


def test_special_files_never_hang(tmp_path):
    """A FIFO or a device named like an image would block a reader forever: they are skipped, in a child."""
    Image.new("RGB", (8, 8), (1, 2, 3)).save(tmp_path / "good.png")
    Image.new("RGB", (8, 8), (1, 2, 3)).save(os.fsdecode(bytes(tmp_path) + b"/caf\xe9 \xff.png"))  # not UTF-8
    os.mkfifo(tmp_path / "pipe.png")
    os.symlink("/dev/zero", tmp_path / "zeros.jpg")
    os.symlink(tmp_path, tmp_path / "loop.png")  # a folder: not followed
    os.symlink("self.png", tmp_path / "self.png")
    code = (
        "import json, sys; from utils.data.folder import load_folder; images, skipped = load_folder(sys.argv[1], 28, 3); "
        "print(json.dumps([len(images), skipped]))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [2, {NOT_A_FILE: 2, UNREADABLE: 1}]


def test_large_pictures_and_files_are_skipped_not_decoded(tmp_path, monkeypatch):
    Image.new("RGB", (40, 30), (9, 9, 9)).save(tmp_path / "a_big.png")
    Image.new("RGB", (20, 20), (9, 9, 9)).save(tmp_path / "b_small.png")
    (tmp_path / "c_bomb.png").write_bytes(huge_png(300_000))  # more than Pillow itself will open
    monkeypatch.setattr(image_checks, "MAX_PIXELS", 1000)

    images, skipped = load_folder(tmp_path, 28, 3)

    assert len(images) == 1 and skipped == {TOO_LARGE: 2}
    monkeypatch.setattr(image_checks, "MAX_FILE_BYTES", 10)
    with pytest.raises(UserError, match=f"3 {TOO_LARGE}"):
        load_folder(tmp_path, 28, 3)


def test_truncated_files_are_caught_before_the_decoder(tmp_path):
    """Whatever a decoder version makes of a cut file, the completeness check refuses it first."""
    for image_format, mode in [("JPEG", "RGB"), ("PNG", "RGB"), ("BMP", "RGB"), ("WEBP", "RGB")]:
        data, _ = encode(image_format, mode, (30, 20), (10, 200, 30), 255)
        assert image_checks.is_complete(data, image_format)
        for cut in range(1, len(data), max(1, len(data) // 40)):
            assert not image_checks.is_complete(data[:cut], image_format), (image_format, cut)


# --- IDX files -------------------------------------------------------------------------------------------


@st.composite
def idx_files(draw):
    """(file bytes, whether they were changed) for a small array in any IDX type, then maybe damaged."""
    dtype = draw(st.sampled_from(list(TYPE_CODES)))
    shape = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
    values = np.arange(int(np.prod(shape))).reshape(shape) % 100
    data = idx_bytes(values.astype(dtype))
    damage = draw(st.sampled_from(["none", "truncate", "header byte", "append", "dimension count"]))
    if damage == "truncate":
        return data[: draw(st.integers(0, len(data) - 1))]
    if damage == "header byte":
        position = draw(st.integers(0, min(len(data), 4 + 4 * len(shape)) - 1))
        return data[:position] + bytes([draw(st.integers(0, 255))]) + data[position + 1 :]
    if damage == "append":
        return data + draw(st.binary(min_size=1, max_size=8))
    if damage == "dimension count":
        return data[:3] + bytes([draw(st.integers(0, 255))]) + data[4:]
    return data


@FUZZ
@given(data=idx_files(), gz=st.booleans(), cut_gzip=st.booleans())
def test_idx_files_read_exactly_or_fail_with_one_line(data, gz, cut_gzip):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("x-idx3-ubyte" + (".gz" if gz else ""))
        stored = gzip.compress(data) if gz else data
        path.write_bytes(stored[: len(stored) // 2] if gz and cut_gzip else stored)
        try:
            array = read_idx(path)
        except UserError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc)
            return
    # What was read is the whole file, value for value: re-encoding it gives the same bytes.
    assert not (gz and cut_gzip)
    assert idx_bytes(array) == data


def test_idx_header_announcing_an_absurd_size(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 0x0D, 4]) + b"\xff\xff\xff\xff" * 4 + b"\x00" * 64)
    with pytest.raises(UserError, match="truncated"):
        read_idx(path)


# --- whole commands on broken data -----------------------------------------------------------------------

TINY_FLAGS = ["--image-size", "28", "--channels", "1", "--g-width", "8", "--d-width", "8", "--latent-dim", "8",
              "--kernel-size", "3", "--batch-size", "4", "--epochs", "1"]  # fmt: skip


def run_main(capsys, *args):
    """`dcgan.py ARGS` in-process; returns (exit code, stdout, stderr)."""
    from utils import cli

    code = cli.main(list(map(str, args)))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_training_on_a_broken_folder_logs_what_it_skipped(tmp_path, capsys):
    data = tmp_path / "scraped"
    (data / "nested").mkdir(parents=True)
    for index, (image_format, mode) in enumerate(KINDS[:8]):
        encoded, _ = encode(image_format, mode, (30 + index, 20), (index * 30, 100, 200), 128)
        (data / ("nested" if index % 2 else "") / f"good {index}{SUFFIXES[image_format]}").write_bytes(encoded)
    photo = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)).save(photo, format="JPEG")
    (data / "cut.jpg").write_bytes(photo.getvalue()[: len(photo.getvalue()) // 2])  # cut inside the pixel data
    (data / "empty.png").write_bytes(b"")
    (data / "page.webp").write_text("<html>404</html>")
    (data / "huge.png").write_bytes(huge_png())
    os.symlink("loop.png", data / "loop.png")

    code, stdout, stderr = run_main(capsys, "train", "--dataset", "folder", "--data-dir", data, *TINY_FLAGS,
                                    "--out", tmp_path / "run")  # fmt: skip

    assert code == 0, stderr
    assert "Traceback" not in stderr
    expected = f"data: 8 images from image folder {data} (5 files skipped: 1 too large, 1 truncated, 3 unreadable)"
    assert expected in stdout.splitlines(), stdout
    assert (tmp_path / "run" / "generator.keras").is_file()


@pytest.mark.parametrize(
    ("damage", "message"),
    [("truncated", "is truncated"), ("magic", "wrong magic number"), ("labels", "labels for 12 images")],
)
def test_training_on_broken_idx_files_fails_with_one_line(tmp_path, capsys, damage, message):
    images = idx_bytes(np.zeros((12, 28, 28), np.uint8))
    labels = idx_bytes(np.zeros(12 if damage != "labels" else 11, np.uint8))
    if damage == "truncated":
        images = images[:-100]
    if damage == "magic":
        images = b"\x08\x00" + images[2:]
    (tmp_path / "train-images-idx3-ubyte").write_bytes(images)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(labels)

    code, _, stderr = run_main(capsys, "train", "--dataset", "mnist", "--data-dir", tmp_path, *TINY_FLAGS,
                               "--out", tmp_path / "run")  # fmt: skip

    assert code == 2 and "Traceback" not in stderr
    assert stderr.count("\n") == 1 and stderr.startswith("error: ") and message in stderr, stderr
    assert not (tmp_path / "run" / "checkpoints").exists()


# --- saved models ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny generator in both formats, a model that is not a GAN network, and files that are no models."""
    import h5py
    import keras

    from utils.training.config import ModelConfig
    from utils.training.models import build_generator
    from utils.training.saving import save_model

    folder = tmp_path_factory.mktemp("models")
    generator = build_generator(ModelConfig(image_size=28, channels=1, latent_dim=8, g_width=8, d_width=8))
    for suffix in (".keras", ".h5"):
        save_model(generator, folder / f"g{suffix}")
    z = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)
    np.save(folder / "z.npy", z)
    np.save(folder / "g_of_z.npy", np.asarray(generator(z)))
    save_model(keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)]), folder / "dense.keras")
    np.savez(folder / "checkpoint.npz", epoch=np.array(1))
    (folder / "checkpoint.keras").write_bytes((folder / "checkpoint.npz").read_bytes())  # a zip, not a model
    Image.new("RGB", (4, 4)).save(folder / "picture.keras", format="PNG")
    with h5py.File(folder / "data.h5", "w") as handle:
        handle["images"] = np.zeros((2, 3))
    return folder


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("checkpoint.keras", "cannot load model"),
        ("picture.keras", "not a valid .keras file"),
        ("data.h5", "cannot load model"),
        ("dense.keras", "is not a generator"),
    ],
)
def test_sampling_from_what_is_not_a_generator_fails_with_one_line(models, tmp_path, capsys, name, message):
    code, _, stderr = run_main(capsys, "sample", "--generator", models / name, "--out", tmp_path / "s.png")

    assert code == 2 and "Traceback" not in stderr
    assert stderr.count("\n") == 1 and stderr.startswith("error: ") and message in stderr, stderr
    assert not (tmp_path / "s.png").exists()


@FUZZ
@given(suffix=st.sampled_from([".keras", ".h5"]), fraction=st.floats(0.0, 0.999))
def test_truncated_models_fail_with_one_line(models, suffix, fraction):
    from utils.training.saving import load_generator

    data = (models / f"g{suffix}").read_bytes()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"cut{suffix}"
        path.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(UserError, match="cannot load model") as caught:
            load_generator(path)
    assert "\n" not in str(caught.value)


@settings(FUZZ, max_examples=20)
@given(position=st.floats(0.0, 0.999), value=st.integers(0, 255))
def test_damaged_keras_files_fail_or_load_unchanged(models, position, value):
    """A .keras file is a zip with checksums: one changed byte gives an error or the very same model."""
    from utils.training.saving import load_generator

    data = bytearray((models / "g.keras").read_bytes())
    data[int(len(data) * position)] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.keras"
        path.write_bytes(bytes(data))
        try:
            model = load_generator(path)
        except UserError as exc:
            assert "\n" not in str(exc)
            return
    z = np.load(models / "z.npy")
    np.testing.assert_array_equal(np.asarray(model(z)), np.load(models / "g_of_z.npy"))
