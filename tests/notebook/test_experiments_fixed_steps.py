"""utils.notebook.experiments.fixed_steps: the epochs a fixed number of steps makes, and training for exactly those steps."""

import csv

import keras
import pytest

from utils.errors import UserError
from utils.notebook import smoke_data
from utils.notebook.experiments import fixed_steps, timing
from utils.notebook.run_config import training_config
from utils.training.models import trainable_params


@pytest.mark.parametrize(
    ("examples", "batch", "steps", "per_epoch", "epochs"),
    [(100, 100, 6000, 1, 6000.0), (1000, 100, 6000, 10, 600.0), (60_000, 100, 6000, 600, 10.0), (64, 16, 8, 4, 2.0)],
)
def test_epochs_for_steps_keeps_the_steps_and_scales_the_epochs(examples, batch, steps, per_epoch, epochs):
    plan = fixed_steps.epochs_for_steps(examples, batch, steps)
    assert plan == {"examples": examples, "steps_per_epoch": per_epoch, "epochs": epochs, "steps": steps}


def test_epochs_for_steps_drops_the_incomplete_batch_and_refuses_impossible_plans():
    assert fixed_steps.epochs_for_steps(150, 100, 10)["epochs"] == 10.0  # one full batch per epoch
    with pytest.raises(UserError, match="larger than the 50"):
        fixed_steps.epochs_for_steps(50, 100, 10)
    with pytest.raises(UserError, match="positive"):
        fixed_steps.epochs_for_steps(100, 10, 0)


def test_train_for_steps_trains_exactly_the_steps_whatever_the_subset(tmp_path):
    with smoke_data(True, num_examples=64):
        config = training_config("mnist", 1, 8, subset=16, seed=1, smoke=True, g_width=4, d_width=4, latent_dim=8)
        config["training"]["batch_size"] = 8
        gan, plan = fixed_steps.train_for_steps(config, tmp_path / "run", total_steps=6, reports=3, verbose=0)
    assert plan == {"examples": 16, "steps_per_epoch": 2, "epochs": 3.0, "steps": 6}
    assert int(keras.ops.convert_to_numpy(gan.d_optimizer.iterations)) == 6
    assert int(keras.ops.convert_to_numpy(gan.g_optimizer.iterations)) == 6
    with open(tmp_path / "run" / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(row["step"]) for row in rows] == [2.0, 4.0, 6.0]
    assert all(float(row["diversity"]) >= 0 for row in rows)
    assert sorted(path.name for path in (tmp_path / "run" / "samples").iterdir()) == [
        f"epoch_{index:04d}.png" for index in (1, 2, 3)
    ]
    for name in ("generator.h5", "generator.keras", "discriminator.h5", "discriminator.keras", "loss.png"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    with smoke_data(True, num_examples=64):  # again, with fewer reports: the first run's third grid goes
        fixed_steps.train_for_steps(config, tmp_path / "run", total_steps=4, reports=2, verbose=0)
    assert sorted(path.name for path in (tmp_path / "run" / "samples").iterdir()) == [
        "epoch_0001.png",
        "epoch_0002.png",
    ]
    timed = timing.time_train_steps(gan, batch_size=8, steps=2, warmup=1)
    assert timed["optimizer_steps"] == 6 + 1 + 2  # the trained DCGAN goes on from its 6 steps
    assert timed["generator_params"] == trainable_params(gan.generator)
    with pytest.raises(UserError, match="multiple"):
        fixed_steps.train_for_steps(config, tmp_path / "bad", total_steps=7, reports=3)
