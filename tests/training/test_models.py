"""Generator and discriminator builders: shapes, ranges, layer choices and the named presets."""

import json

import keras
import numpy as np
import pytest

from utils.errors import UserError
from utils.training.config import ARCHITECTURES, IMAGE_SIZES, ModelConfig, model_config
from utils.training.models import build_discriminator, build_generator, core_size, trainable_params

BATCH = 2


def small(**overrides):
    """A narrow config so that every sweep case builds and runs in a few milliseconds."""
    settings = {"image_size": 28, "channels": 1, "latent_dim": 8, "g_width": 4, "d_width": 4, "kernel_size": 3}
    settings.update(overrides)
    return ModelConfig(**settings)


def run_pair(config, seed=0):
    """Build G and D, feed G noise and D G's images; returns (G, D, images, logits) as numpy."""
    generator, discriminator = build_generator(config), build_discriminator(config)
    z = np.random.default_rng(seed).standard_normal((BATCH, config.latent_dim)).astype(np.float32)
    images = np.asarray(generator(z, training=False))
    logits = np.asarray(discriminator(images, training=False))
    return generator, discriminator, images, logits


def layers_of(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


def check_outputs(config, images, logits):
    size, channels = config.image_size, config.channels
    assert images.shape == (BATCH, size, size, channels)
    assert images.dtype == np.float32
    assert np.all(np.isfinite(images))
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert images.std() > 0  # not a constant picture
    assert logits.shape == (BATCH, 1)
    assert logits.dtype == np.float32
    assert np.all(np.isfinite(logits))


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("image_size", IMAGE_SIZES)
def test_shapes_for_every_size_and_channel_count(image_size, channels):
    config = small(image_size=image_size, channels=channels)
    generator, discriminator, images, logits = run_pair(config)
    check_outputs(config, images, logits)
    assert generator.input_shape == (None, config.latent_dim)
    assert generator.output_shape == (None, image_size, image_size, channels)
    assert discriminator.input_shape == (None, image_size, image_size, channels)
    assert discriminator.output_shape == (None, 1)
    # G's first feature map is the 4x4 (7x7 for 28) core and D's last conv map is the core again.
    core = core_size(image_size)
    assert generator.get_layer("reshape").output.shape[1:3] == (core, core)
    last_conv = layers_of(discriminator, keras.layers.Conv2D)[-1]
    assert last_conv.output.shape[1:3] == (core, core)


def test_generator_saturates_inside_tanh_range():
    # Large weights push tanh to its limits: values must still stay within [-1, 1].
    config = small(image_size=32, channels=3)
    generator = build_generator(config)
    generator.set_weights([w * 1000.0 for w in generator.get_weights()])
    z = np.random.default_rng(1).standard_normal((BATCH, config.latent_dim)).astype(np.float32)
    images = np.asarray(generator(z, training=False))
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert np.isclose(np.abs(images).max(), 1.0)


def test_core_size():
    assert core_size(28) == 7
    for size in (32, 64, 128):
        assert core_size(size) == 4


def test_widths_double_towards_the_core():
    config = small(image_size=64, channels=3, g_width=4, d_width=5)
    generator, discriminator = build_generator(config), build_discriminator(config)
    g_maps = [layer.output.shape[-1] for layer in layers_of(generator, keras.layers.Conv2DTranspose)]
    assert generator.get_layer("reshape").output.shape[1:] == (4, 4, 32)
    assert g_maps == [16, 8, 4, 3]
    d_maps = [layer.output.shape[-1] for layer in layers_of(discriminator, keras.layers.Conv2D)]
    assert d_maps == [5, 10, 20, 40]


@pytest.mark.parametrize("image_size", [28, 64])
def test_generator_without_batchnorm(image_size):
    config = small(image_size=image_size, channels=3, g_batchnorm=False)
    generator, discriminator, images, logits = run_pair(config)
    check_outputs(config, images, logits)
    assert layers_of(generator, keras.layers.BatchNormalization) == []
    assert layers_of(discriminator, keras.layers.BatchNormalization) != []
    # Without BatchNorm the projection and hidden convolutions need their own bias.
    assert generator.get_layer("project").use_bias
    assert all(layer.use_bias for layer in layers_of(generator, keras.layers.Conv2DTranspose))


def test_generator_batchnorm_placement():
    config = small(image_size=64, channels=3)
    generator = build_generator(config)
    names = [layer.name for layer in generator.layers]
    # BatchNorm after the projection and every hidden upsampling, never on the output.
    assert names.count("project_bn") == 1
    assert [n for n in names if n.endswith("_bn")] == ["project_bn", "up1_bn", "up2_bn", "up3_bn"]
    assert names[-2:] == ["to_image", "tanh"]
    assert not generator.get_layer("project").use_bias
    assert generator.get_layer("to_image").use_bias


@pytest.mark.parametrize("image_size", [28, 64])
def test_discriminator_without_batchnorm(image_size):
    config = small(image_size=image_size, channels=3, d_batchnorm=False)
    generator, discriminator, images, logits = run_pair(config)
    check_outputs(config, images, logits)
    assert layers_of(discriminator, keras.layers.BatchNormalization) == []
    assert layers_of(generator, keras.layers.BatchNormalization) != []
    assert all(layer.use_bias for layer in layers_of(discriminator, keras.layers.Conv2D))


def test_discriminator_has_no_batchnorm_on_its_input_layer():
    config = small(image_size=64, channels=3)
    discriminator = build_discriminator(config)
    names = [layer.name for layer in discriminator.layers]
    assert names[:2] == ["conv1", "conv1_lrelu"]
    assert [n for n in names if n.endswith("_bn")] == ["conv2_bn", "conv3_bn", "conv4_bn"]
    lrelus = layers_of(discriminator, keras.layers.LeakyReLU)
    assert len(lrelus) == 4
    assert all(np.isclose(layer.negative_slope, 0.2) for layer in lrelus)


def test_both_without_batchnorm():
    config = small(image_size=32, channels=1, g_batchnorm=False, d_batchnorm=False)
    generator, discriminator, images, logits = run_pair(config)
    check_outputs(config, images, logits)
    for model in (generator, discriminator):
        assert layers_of(model, keras.layers.BatchNormalization) == []


@pytest.mark.parametrize("image_size", [28, 64])
def test_discriminator_dropout(image_size):
    config = small(image_size=image_size, channels=3, d_dropout=0.5)
    generator, discriminator, images, logits = run_pair(config)
    check_outputs(config, images, logits)
    dropouts = layers_of(discriminator, keras.layers.Dropout)
    convs = [layer for layer in layers_of(discriminator, keras.layers.Conv2D) if layer.name != "logit"]
    assert len(dropouts) == len(convs) >= 2
    assert all(layer.rate == 0.5 for layer in dropouts)
    assert layers_of(generator, keras.layers.Dropout) == []
    # Dropout is active only in training mode.
    inference = [np.asarray(discriminator(images, training=False)) for _ in range(2)]
    np.testing.assert_array_equal(inference[0], inference[1])
    np.testing.assert_array_equal(inference[0], logits)
    training = [np.asarray(discriminator(images, training=True)) for _ in range(2)]
    assert not np.array_equal(training[0], training[1])


def test_no_dropout_layers_by_default():
    assert layers_of(build_discriminator(small(image_size=32)), keras.layers.Dropout) == []


@pytest.mark.parametrize("latent_dim", [20, 100, 500])
def test_latent_sizes(latent_dim):
    config = small(image_size=32, channels=3, latent_dim=latent_dim)
    generator, _, images, logits = run_pair(config)
    check_outputs(config, images, logits)
    assert generator.input_shape == (None, latent_dim)
    assert generator.get_layer("project").kernel.shape[0] == latent_dim
    with pytest.raises(ValueError):
        generator(np.zeros((BATCH, latent_dim + 1), np.float32))


@pytest.mark.parametrize("projection", ["dense", "conv_transpose"])
@pytest.mark.parametrize("kernel_size", [4, 5])
@pytest.mark.parametrize("image_size", [28, 64])
def test_kernel_sizes_and_projections(image_size, kernel_size, projection):
    config = small(image_size=image_size, channels=3, kernel_size=kernel_size, projection=projection)
    generator, discriminator, images, logits = run_pair(config)
    check_outputs(config, images, logits)
    core = core_size(image_size)
    project = generator.get_layer("project")
    if projection == "dense":
        assert isinstance(project, keras.layers.Dense)
        assert generator.get_layer("reshape").output.shape[1:3] == (core, core)
    else:
        assert isinstance(project, keras.layers.Conv2DTranspose)
        assert project.kernel.shape[:2] == (core, core)  # 1x1 -> core x core by a valid conv
        assert project.output.shape[1:3] == (core, core)
    for layer in layers_of(generator, keras.layers.Conv2DTranspose)[1 if projection != "dense" else 0 :]:
        assert layer.kernel.shape[:2] == (kernel_size, kernel_size)
    for layer in layers_of(discriminator, keras.layers.Conv2D):
        if layer.name != "logit":
            assert layer.kernel.shape[:2] == (kernel_size, kernel_size)


@pytest.mark.parametrize(("image_size", "levels"), [(28, 2), (32, 3), (128, 5)])
def test_discriminator_conv_output(image_size, levels):
    config = small(image_size=image_size, channels=1, d_output="conv")
    _, discriminator, images, logits = run_pair(config)
    check_outputs(config, images, logits)
    logit = discriminator.get_layer("logit")
    assert isinstance(logit, keras.layers.Conv2D)
    core = core_size(image_size)
    assert logit.kernel.shape == (core, core, config.d_width * 2 ** (levels - 1), 1)
    assert logit.output.shape[1:] == (1, 1, 1)
    assert layers_of(discriminator, keras.layers.Dense) == []


def test_discriminator_dense_output():
    config = small(image_size=32, channels=3, d_output="dense")
    _, discriminator, images, logits = run_pair(config)
    check_outputs(config, images, logits)
    logit = discriminator.get_layer("logit")
    assert isinstance(logit, keras.layers.Dense)
    assert logit.kernel.shape == (4 * 4 * 16, 1)


def test_weights_drawn_from_normal_002():
    config = ModelConfig(image_size=64, channels=3, g_width=32, d_width=32)
    generator = build_generator(config)
    kernel = np.asarray(generator.get_layer("up1").kernel)
    assert abs(kernel.mean()) < 0.002
    assert kernel.std() == pytest.approx(0.02, rel=0.05)
    gamma = np.asarray(generator.get_layer("up1_bn").gamma)
    assert gamma.mean() == pytest.approx(1.0, abs=0.01)
    assert gamma.std() == pytest.approx(0.02, rel=0.3)


def test_models_are_plain_sequential_without_custom_objects():
    config = small(image_size=32, channels=3, d_dropout=0.3, projection="conv_transpose", d_output="conv")
    for model in (build_generator(config), build_discriminator(config)):
        assert type(model) is keras.Sequential
        for layer in model.layers:
            assert type(layer).__module__.startswith("keras."), type(layer)
        # Rebuilding from the JSON config needs no custom_objects.
        clone = keras.models.model_from_json(json.dumps(json.loads(model.to_json())))
        assert type(clone) is keras.Sequential
        assert [type(layer) for layer in clone.layers] == [type(layer) for layer in model.layers]
        assert clone.output_shape == model.output_shape
    assert build_generator(config).name == "generator"
    assert build_discriminator(config).name == "discriminator"


def test_trainable_params_counts_only_trainable_weights():
    config = small(image_size=28)
    generator = build_generator(config)
    expected = sum(int(np.prod(w.shape)) for w in generator.trainable_weights)
    assert trainable_params(generator) == expected
    # BatchNorm moving statistics are weights but not trainable.
    assert trainable_params(generator) < sum(int(np.prod(w.shape)) for w in generator.weights)


# --- presets ---------------------------------------------------------------------------------


def test_paper_preset_matches_figure_1():
    config = model_config("paper")
    assert (config.image_size, config.channels, config.latent_dim, config.kernel_size) == (64, 3, 100, 5)
    assert config.projection == "dense" and config.d_output == "dense"
    generator = build_generator(config)
    maps = [generator.get_layer(name).output.shape[1:] for name in ("reshape", "up1", "up2", "up3", "to_image")]
    assert maps == [(4, 4, 1024), (8, 8, 512), (16, 16, 256), (32, 32, 128), (64, 64, 3)]
    z = np.random.default_rng(0).standard_normal((BATCH, 100)).astype(np.float32)
    images = np.asarray(generator(z))
    assert images.shape == (BATCH, 64, 64, 3)
    assert images.min() >= -1 and images.max() <= 1


def test_reference_preset_matches_pytorch_parameter_counts():
    config = model_config("reference")
    assert config.kernel_size == 4 and config.g_width == 64 and config.d_width == 64
    assert config.projection == "conv_transpose" and config.d_output == "conv"
    generator, discriminator, images, logits = run_pair(config)
    check_outputs(config, images, logits)
    # PyTorch reference netG: 3,576,704 parameters (all convolutions bias-free), plus the 3 biases of
    # the output layer here.
    assert trainable_params(generator) == 3_576_707
    # PyTorch reference netD: 2,765,568, plus the first layer's 64 biases and the output bias here.
    assert trainable_params(discriminator) == 2_765_568 + 64 + 1


@pytest.mark.parametrize(
    ("architecture", "expected"),
    [("seed002-doubled", 72_922_240), ("seed002-extra-layer", 19_053_120)],
)
def test_seed002_generators_parameter_counts(architecture, expected):
    config = model_config(architecture)
    assert config.image_size == 128
    generator = build_generator(config)
    assert generator.output_shape == (None, 128, 128, 3)
    assert trainable_params(generator) == pytest.approx(expected, rel=1e-3)
    # One more upsampling block than the 64x64 paper generator.
    assert len(layers_of(generator, keras.layers.Conv2DTranspose)) == 5


def test_seed002_doubled_has_twice_the_widths_of_extra_layer():
    doubled, extra = model_config("seed002-doubled"), model_config("seed002-extra-layer")
    assert doubled.g_width == 2 * extra.g_width
    assert doubled.d_width == 2 * extra.d_width


def test_every_preset_builds_a_valid_config():
    for name in ARCHITECTURES:
        config = model_config(name)
        assert isinstance(config, ModelConfig)
        assert config.image_size in IMAGE_SIZES


def test_overrides():
    assert model_config("reference", kernel_size=5).kernel_size == 5
    assert model_config("reference", kernel_size=None).kernel_size == 4
    config = model_config("reference", image_size=32, channels=1, latent_dim=None, g_width=None)
    assert (config.image_size, config.channels, config.latent_dim, config.g_width) == (32, 1, 100, 64)
    assert model_config("seed002-extra-layer", image_size=64).image_size == 64
    assert model_config(g_batchnorm=False).g_batchnorm is False  # False is not None: it must override
    assert model_config(d_dropout=0.0).d_dropout == 0.0
    assert model_config().kernel_size == 5
    # The presets themselves are not modified by overrides.
    assert ARCHITECTURES["reference"]["kernel_size"] == 4


@pytest.mark.parametrize(
    "settings",
    [
        {"image_size": 48},
        {"image_size": 256},
        {"channels": 2},
        {"channels": 4},
        {"d_dropout": 1.0},
        {"d_dropout": -0.1},
        {"latent_dim": 0},
        {"g_width": 0},
        {"kernel_size": 0},
        {"projection": "upsample"},
        {"d_output": "sigmoid"},
    ],
)
def test_invalid_settings_raise_user_error(settings):
    with pytest.raises(UserError):
        ModelConfig(**settings)
    with pytest.raises(UserError):
        model_config("paper", **settings)


def test_unknown_architecture():
    with pytest.raises(UserError, match="unknown architecture"):
        model_config("resnet")
