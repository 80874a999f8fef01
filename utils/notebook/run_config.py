"""Run settings for the notebooks: the configuration `utils.training.train.train` takes, full-size or shrunk to a smoke run.

`training_config` builds it as `dcgan.py train` builds it from its flags; with `smoke=True` the networks and
the training shrink to `SMOKE_MODEL` and `SMOKE_TRAINING`, and `SMOKE_EXAMPLES` is the size of the mock data
that smoke runs read (`utils.notebook.use_smoke_data`). `summaries` prints the networks a configuration builds.
"""

import dataclasses

# Smoke runs: tiny networks, a couple of epochs, a few batches per epoch.
SMOKE_MODEL = {"g_width": 8, "d_width": 8}
SMOKE_TRAINING = {"epochs": 2, "batch_size": 16, "subset": 64}
SMOKE_EXAMPLES = 128  # examples per split of the mock tensorflow-datasets data


def training_config(
    name,
    epochs,
    batch_size,
    image_size=None,
    channels=None,
    subset=None,
    seed=0,
    data_dir=None,
    architecture="paper",
    smoke=False,
    learning_rate=2e-4,
    beta_1=0.5,
    **model,
):
    """The configuration `utils.training.train.train` takes, built as `dcgan.py train` builds it from its flags.

    Args:
        name: dataset name or alias.
        epochs, batch_size, subset, seed, learning_rate, beta_1: training settings (`dcgan.py train` flags).
        image_size, channels: the dataset's (or the preset's) own when None.
        data_dir: IDX folder, image folder or tensorflow-datasets data_dir.
        architecture: a preset of `utils.training.config.ARCHITECTURES`.
        smoke: replace the sizes by `SMOKE_TRAINING` and the widths by `SMOKE_MODEL` (explicit `model`
            settings still apply, so a smoke run keeps e.g. the latent size it studies).
        **model: `ModelConfig` fields overriding the preset (latent_dim, g_batchnorm, ...).

    Returns:
        dict with "data", "model" and "training" as `utils.training.train.train` wants it.
    """
    from utils.data.registry import dataset_spec
    from utils.training.config import ARCHITECTURES, model_config

    canonical, spec = dataset_spec(name)
    if smoke:
        epochs = min(epochs, SMOKE_TRAINING["epochs"])
        batch_size = SMOKE_TRAINING["batch_size"]
        subset = min(subset or SMOKE_TRAINING["subset"], SMOKE_TRAINING["subset"])
        model = {**SMOKE_MODEL, **model}
    preset = ARCHITECTURES.get(architecture, {})
    settings = model_config(
        architecture,
        image_size=image_size or preset.get("image_size") or spec.image_size,
        channels=channels or spec.channels,
        **model,
    )
    return {
        "data": {
            "name": canonical,
            "data_dir": None if data_dir is None else str(data_dir),
            "subset": subset,
            "image_size": settings.image_size,
            "channels": settings.channels,
        },
        "model": dataclasses.asdict(settings),
        "training": {
            "epochs": epochs,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "beta_1": beta_1,
            "seed": seed,
            "monitor": "g_loss",
            "deterministic": False,
        },
    }


def summaries(config):
    """Print the Keras summaries of G and D for a run configuration (`training_config`) or a `ModelConfig`.

    Returns:
        {"generator": trainable parameters, "discriminator": trainable parameters}.
    """
    from utils.training.models import ModelConfig, build_discriminator, build_generator, trainable_params

    model = config if isinstance(config, ModelConfig) else ModelConfig(**config["model"])
    generator, discriminator = build_generator(model), build_discriminator(model)
    generator.summary()
    discriminator.summary()
    counts = {"generator": trainable_params(generator), "discriminator": trainable_params(discriminator)}
    print(f"trainable parameters: G {counts['generator']:,}, D {counts['discriminator']:,}")
    return counts
