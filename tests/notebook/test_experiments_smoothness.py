"""utils.notebook.experiments.smoothness: how evenly latent walks change, and the chart comparing models."""

import keras
import pytest
from PIL import Image

from utils.errors import UserError
from utils.notebook.experiments import smoothness


def _png(path):
    with Image.open(path) as image:
        image.load()
        return image.size


def _linear_models(latent=6, steep=False):
    """A generator linear in z (walks between z are perfectly even) or a steep one (a walk jumps), and a D."""
    layers = [
        keras.Input((latent,)),
        keras.layers.Dense(16, kernel_initializer=keras.initializers.RandomNormal(seed=1)),
    ]
    if steep:
        layers += [keras.layers.Rescaling(200.0), keras.layers.Activation("tanh")]
    generator = keras.Sequential([*layers, keras.layers.Reshape((4, 4, 1))])
    discriminator = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(5), keras.layers.Dense(1)]
    )
    return generator, discriminator


def test_walk_smoothness_is_one_for_a_linear_generator_and_large_for_a_jump():
    generator, discriminator = _linear_models()
    even = smoothness.walk_smoothness(generator, discriminator, walks=5, steps=9, seed=2)
    assert even["pixel_median"] == pytest.approx(1.0, abs=1e-3)
    assert even["feature_worst"] == pytest.approx(1.0, abs=1e-3)
    assert (even["walks"], even["steps"]) == (5, 9)
    steep = smoothness.walk_smoothness(_linear_models(steep=True)[0], walks=5, steps=9, seed=2)
    assert steep["pixel_worst"] > 2.0 and steep["feature_median"] is None
    with pytest.raises(UserError, match="3 frames"):
        smoothness.walk_smoothness(generator, steps=2)


def test_plot_smoothness_writes_a_chart(tmp_path):
    smooth = {
        f"z = {z}": {"pixel_median": 1.2, "pixel_worst": 2.0, "feature_median": 1.1, "feature_worst": 1.5, "walks": 10}
        for z in (20, 100)
    }
    smoothness.plot_smoothness(smooth, tmp_path / "s.png")
    assert min(_png(tmp_path / "s.png")) > 100
