"""The real images FID and KID compare a generator with: which split is the reference, and the floor beside it.

The reference is the test split (`REFERENCE_SPLITS` names the exceptions); the floor is as many training
images, scored against the same reference. A dataset of `ONE_SPLIT` has only a training split: its two disjoint
halves are the reference and the floor.
"""

import numpy as np

from utils.errors import UserError

REFERENCE_SPLITS = {"lsun/bedroom": "validation"}  # the split the samples are compared with, when not "test"
ONE_SPLIT = ("folder", "lfw")  # datasets with one split: reference and floor are its two disjoint halves


def real_images(name, data_dir, split, count, seed, image_shape):
    """`count` images of one split, a seeded random subset, at the generator's size: (count, S, S, C) float32."""
    from utils.data.load import load_dataset

    settings = {"data_dir": data_dir, "split": split, "image_size": image_shape[0], "channels": image_shape[-1]}
    settings.update(batch_size=500, shuffle=False, drop_remainder=False)
    total = load_dataset(name, **settings).num_examples
    if count > total:
        raise UserError(f"--n {count} is more than the {split} split of {name} holds ({total} images)")
    return load_dataset(name, subset=count, seed=seed, **settings).sample(count)


def real_sets(name, data_dir, count, seed, image_shape):
    """The real images FID and KID compare with.

    Args:
        name: canonical dataset name.
        data_dir: as `utils.data.load.load_dataset`.
        count: images in each set.
        seed: seed of the subsets (and of the split of a one-split dataset).
        image_shape: (S, S, C) the images are loaded at.

    Returns:
        (reference, floor, split): the reference split (`REFERENCE_SPLITS`, else "test") and a training subset,
        or, for a dataset of `ONE_SPLIT`, two disjoint halves of its training split ("half of train").
    """
    if name in ONE_SPLIT:
        images = real_images(name, data_dir, "train", 2 * count, seed, image_shape)
        images = images[np.random.default_rng(seed).permutation(len(images))]
        return images[:count], images[count:], "half of train"
    split = REFERENCE_SPLITS.get(name, "test")
    return (
        real_images(name, data_dir, split, count, seed, image_shape),
        real_images(name, data_dir, "train", count, seed, image_shape),
        split,
    )
