"""Saving G and D to .keras and .h5 and loading them back, with the checks on what was loaded."""

import dataclasses
import logging
import types
import zipfile

import keras
import numpy as np
import pytest

from utils.errors import UserError
from utils.training.models import build_discriminator, build_generator
from utils.training.saving import load_discriminator, load_generator, load_model, save_model, save_models

SUFFIXES = [".keras", ".h5"]


def randomize(model, seed):
    """Give every weight (BatchNorm moving statistics included) distinct random values."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype) * 0.1 for w in model.get_weights()])
    return model


@pytest.fixture(params=[True, False], ids=["batchnorm", "no-batchnorm"])
def pair(request, tiny_model):
    """A tiny (G, D) pair with random weights, with or without BatchNorm."""
    config = dataclasses.replace(tiny_model, g_batchnorm=request.param, d_batchnorm=request.param)
    generator = randomize(build_generator(config), 1)
    discriminator = randomize(build_discriminator(config), 2)
    if request.param:
        assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in generator.layers)
    return config, generator, discriminator


@pytest.fixture
def inputs(tiny_model):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((4, tiny_model.latent_dim)).astype(np.float32)
    images = rng.uniform(-1, 1, (4, 28, 28, 1)).astype(np.float32)
    return z, images


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_round_trip_gives_identical_outputs(tmp_path, pair, inputs, suffix):
    config, generator, discriminator = pair
    z, images = inputs
    save_model(generator, tmp_path / f"g{suffix}")
    save_model(discriminator, tmp_path / f"d{suffix}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"d{suffix}", f"g{suffix}"]  # no temporary files

    loaded_g = load_generator(tmp_path / f"g{suffix}", latent_dim=config.latent_dim)
    loaded_d = load_discriminator(tmp_path / f"d{suffix}", image_shape=(28, 28, 1))
    assert type(loaded_g) is keras.Sequential and type(loaded_d) is keras.Sequential
    for training in (False, True):
        np.testing.assert_allclose(
            np.asarray(loaded_g(z, training=training)), np.asarray(generator(z, training=training)), atol=1e-6
        )
        np.testing.assert_allclose(
            np.asarray(loaded_d(images, training=training)),
            np.asarray(discriminator(images, training=training)),
            atol=1e-6,
        )
    for original, loaded in ((generator, loaded_g), (discriminator, loaded_d)):
        assert len(original.weights) == len(loaded.weights)
        for a, b in zip(original.get_weights(), loaded.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)


def test_save_models_writes_four_files(tmp_path, pair, inputs):
    _, generator, discriminator = pair
    z, images = inputs
    gan = types.SimpleNamespace(generator=generator, discriminator=discriminator)
    save_models(gan, tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["discriminator.h5", "discriminator.keras", "generator.h5", "generator.keras"]
    assert zipfile.is_zipfile(tmp_path / "generator.keras")
    assert (tmp_path / "generator.h5").read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    expected_g, expected_d = np.asarray(generator(z)), np.asarray(discriminator(images))
    for suffix in SUFFIXES:
        np.testing.assert_array_equal(np.asarray(load_generator(tmp_path / f"generator{suffix}")(z)), expected_g)
        np.testing.assert_array_equal(
            np.asarray(load_discriminator(tmp_path / f"discriminator{suffix}")(images)), expected_d
        )


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_save_model_overwrites(tmp_path, tiny_model, inputs, suffix):
    z, _ = inputs
    path = tmp_path / f"g{suffix}"
    first, second = randomize(build_generator(tiny_model), 1), randomize(build_generator(tiny_model), 2)
    save_model(first, path)
    save_model(second, path)
    np.testing.assert_array_equal(np.asarray(load_generator(path)(z)), np.asarray(second(z)))
    assert not np.array_equal(np.asarray(first(z)), np.asarray(second(z)))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Saved tiny G and D in both formats."""
    from utils.training.config import ModelConfig

    config = ModelConfig(image_size=28, channels=1, latent_dim=8, g_width=8, d_width=8, kernel_size=3)
    folder = tmp_path_factory.mktemp("models")
    for suffix in SUFFIXES:
        save_model(build_generator(config), folder / f"g{suffix}")
        save_model(build_discriminator(config), folder / f"d{suffix}")
    return folder


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_load_generator_rejects_a_discriminator(saved, suffix):
    with pytest.raises(UserError, match="not a generator"):
        load_generator(saved / f"d{suffix}")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_load_generator_rejects_a_wrong_latent_dim(saved, suffix):
    assert load_generator(saved / f"g{suffix}", latent_dim=8).input_shape == (None, 8)
    with pytest.raises(UserError, match="latent size 8, not 100"):
        load_generator(saved / f"g{suffix}", latent_dim=100)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_load_discriminator_rejects_a_generator(saved, suffix):
    with pytest.raises(UserError, match="not a discriminator"):
        load_discriminator(saved / f"g{suffix}")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_load_discriminator_rejects_a_wrong_image_shape(saved, suffix):
    assert load_discriminator(saved / f"d{suffix}", image_shape=[28, 28, 1]).output_shape == (None, 1)
    for shape in [(28, 28, 3), (32, 32, 1)]:
        with pytest.raises(UserError, match="takes images of shape"):
            load_discriminator(saved / f"d{suffix}", image_shape=shape)


def test_missing_file(tmp_path):
    for loader in (load_model, load_generator, load_discriminator):
        with pytest.raises(UserError, match="does not exist"):
            loader(tmp_path / "nothing.keras")
    with pytest.raises(UserError, match="does not exist"):
        load_generator(tmp_path)  # a folder is not a model file


def test_unknown_suffix(saved, tmp_path):
    path = tmp_path / "g.pt"
    path.write_bytes((saved / "g.keras").read_bytes())
    with pytest.raises(UserError, match=r"not a \.keras or \.h5"):
        load_generator(path)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_truncated_file(saved, tmp_path, suffix):
    data = (saved / f"g{suffix}").read_bytes()
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="cannot load model"):
        load_generator(path)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_text_file_with_a_model_suffix(tmp_path, suffix):
    path = tmp_path / f"notes{suffix}"
    path.write_text("these are not the weights you are looking for\n" * 20)
    with pytest.raises(UserError, match="cannot load model") as caught:
        load_generator(path)
    assert "\n" not in str(caught.value)
    with pytest.raises(UserError, match="cannot load model"):
        load_discriminator(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.keras"
    path.write_bytes(b"")
    with pytest.raises(UserError, match="cannot load model"):
        load_model(path)


def test_h5_file_renamed_keras_and_back(saved, tmp_path):
    # The format follows the contents' suffix: a .h5 file named .keras is not a .keras zip.
    path = tmp_path / "wrong.keras"
    path.write_bytes((saved / "g.h5").read_bytes())
    with pytest.raises(UserError, match="cannot load model"):
        load_generator(path)


def test_a_model_from_another_keras_names_both_versions_and_the_whole_reason(saved, tmp_path):
    # As a Keras newer than the one running would write it: a layer argument this Keras does not know.
    import json
    import zipfile

    path = tmp_path / "newer.keras"
    with zipfile.ZipFile(saved / "g.keras") as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                config["config"]["layers"][-1]["config"]["future_setting"] = {"mode": "x" * 300}
                data = json.dumps(config).encode()
            elif item.filename == "metadata.json":
                data = json.dumps({"keras_version": "3.99.0"}).encode()
            target.writestr(item, data)

    with pytest.raises(UserError) as caught:
        load_generator(path)
    message = str(caught.value)
    assert "\n" not in message and "future_setting" in message  # the cause, not cut before it
    assert "written by Keras 3.99.0 and this is Keras " + keras.__version__ in message
    assert "pip install -U 'keras>=3.99.0'" in message


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_loads_log_no_warning(saved, suffix, caplog):
    # A notebook cell that loads a model shows no absl warning (Keras warns when it compiles a loaded .h5).
    load_generator(saved / f"g{suffix}")
    assert not [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
