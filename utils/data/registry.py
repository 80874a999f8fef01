"""The dataset registry: names, where each comes from, default size and channels (no TensorFlow import)."""

import dataclasses

from utils.errors import UserError

IMAGE_SIZES = (28, 32, 64, 128)  # the image sides the models are built for


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """How to get one dataset.

    Attributes:
        tfds_name: the tensorflow-datasets name, or None for local-only sources.
        channels: the images' own channel count.
        image_size: the default training size.
        crop: side of the central square cut before resizing (CelebA's usual 108), or None.
        labels: whether the examples carry an integer class label.
        idx_dirs: folders searched for IDX files before tensorflow-datasets is tried.
        held_out: the split analyses compare with (FID's reference, neighbours' and explain's real images), or
            None for a dataset with only a training split, whose two disjoint halves then stand in for
            training and held-out data (`comparison_parts`).
    """

    tfds_name: str | None
    channels: int
    image_size: int
    crop: int | None = None
    labels: bool = True
    idx_dirs: tuple = ()
    held_out: str | None = "test"


DATASETS = {
    "mnist": DatasetSpec("mnist", 1, 28, idx_dirs=("/usr/share/datasets/mnist",)),
    "fashion_mnist": DatasetSpec("fashion_mnist", 1, 28, idx_dirs=("/usr/share/datasets/fashion-mnist",)),
    "cifar10": DatasetSpec("cifar10", 3, 32),
    "svhn_cropped": DatasetSpec("svhn_cropped", 3, 32),
    "celeb_a": DatasetSpec("celeb_a", 3, 64, crop=108, labels=False),
    "lfw": DatasetSpec("lfw", 3, 64, labels=False, held_out=None),
    "folder": DatasetSpec(None, 3, 64, labels=False, held_out=None),
}

# LSUN's ten scene categories: read from the release's LMDB folders (`--data-dir .../bedroom_train_lmdb`), else tfds.
LSUN_SCENES = ("bedroom", "bridge", "church_outdoor", "classroom", "conference_room", "dining_room", "kitchen",
               "living_room", "restaurant", "tower")  # fmt: skip
DATASETS.update(
    {f"lsun/{scene}": DatasetSpec(f"lsun/{scene}", 3, 64, labels=False, held_out="validation") for scene in LSUN_SCENES}
)

ALIASES = {
    "svhn": "svhn_cropped",
    "celeba": "celeb_a",
    "lsun_bedroom": "lsun/bedroom",
    "lsun_restaurant": "lsun/restaurant",
    "fashion-mnist": "fashion_mnist",
}


def dataset_spec(name):
    """Return `(canonical name, DatasetSpec)` for a dataset name or alias; UserError when unknown."""
    name = ALIASES.get(name, name)
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return name, DATASETS[name]


def comparison_parts(name):
    """The data an analysis fits or searches and the held-out data it compares with, and how to name the latter.

    Args:
        name: a dataset name or alias.

    Returns:
        (fit, held_out, description): `load_dataset` keyword arguments of each part, e.g. ({"split": "train"},
        {"split": "test"}, "test"); a dataset with one split gives its two disjoint halves ("half of train").
    """
    spec = dataset_spec(name)[1]
    if spec.held_out is None:
        return {"split": "train", "half": 0}, {"split": "train", "half": 1}, "half of train"
    return {"split": "train"}, {"split": spec.held_out}, spec.held_out
