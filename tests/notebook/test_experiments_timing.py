"""utils.notebook.experiments.timing: seed 002's 128x128 models, step times on random images and their ratios."""

import pytest
from PIL import Image

from utils.errors import UserError
from utils.notebook.experiments import timing
from utils.training.config import ModelConfig
from utils.training.models import build_discriminator, build_generator, trainable_params


def _png(path):
    with Image.open(path) as image:
        image.load()
        return image.size


def test_time_train_steps_runs_warmup_plus_timed_steps_and_keeps_the_fastest():
    model = ModelConfig(image_size=28, channels=1, latent_dim=8, g_width=4, d_width=4, kernel_size=3)
    result = timing.time_train_steps(model, batch_size=4, steps=2, warmup=1, repeats=2)
    assert result["optimizer_steps"] == 1 + 2 * 2
    assert len(result["runs"]) == 2 and result["seconds_per_step"] == min(result["runs"]) > 0
    assert result["images_per_second"] == pytest.approx(4 / result["seconds_per_step"])
    assert result["generator_params"] == trainable_params(build_generator(model))
    assert result["discriminator_params"] == trainable_params(build_discriminator(model))
    with pytest.raises(UserError):
        timing.time_train_steps(model, batch_size=4, steps=0)


def test_step_times_are_relative_to_the_baseline(tmp_path):
    small = ModelConfig(image_size=28, channels=1, latent_dim=8, g_width=4, d_width=4, kernel_size=3)
    models = {"small": small, "same": small}
    lines = []
    results = timing.step_times(models, "small", batch_size=4, steps=1, warmup=1, log=lines.append)
    assert results["small"]["ratio"] == 1.0
    assert results["same"]["ratio"] == results["same"]["seconds_per_step"] / results["small"]["seconds_per_step"]
    assert len(lines) == 2 and "ms per step of 4" in lines[0]
    timing.plot_step_times(results, "small", tmp_path / "t.png", reported={"same": 5.0}, title="t")
    assert _png(tmp_path / "t.png")[0] > 100
    with pytest.raises(UserError, match="baseline"):
        timing.step_times(models, "missing", batch_size=4, steps=1)


def test_resolution_models_are_seed_002s_and_scale_down_in_proportion():
    full = timing.resolution_models()
    assert list(full) == [timing.RESOLUTION_BASELINE, "128x128 seed002-doubled", "128x128 seed002-extra-layer"]
    assert [(m.image_size, m.g_width, m.d_width, m.channels) for m in full.values()] == [
        (64, 128, 128, 3),
        (128, 128, 128, 3),
        (128, 64, 64, 3),
    ]
    small = timing.resolution_models(channels=1, width_divisor=16)
    assert [(m.image_size, m.g_width, m.d_width, m.channels) for m in small.values()] == [
        (64, 8, 8, 1),
        (128, 8, 8, 1),
        (128, 4, 4, 1),
    ]
    # README's counts at full width: 18,855,043 (64x64) and 19,055,171 (extra layer); the doubled G is not built here.
    assert trainable_params(build_generator(full[timing.RESOLUTION_BASELINE])) == 18_855_043
    assert trainable_params(build_generator(full["128x128 seed002-extra-layer"])) == 19_055_171
