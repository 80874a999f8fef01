"""The real images FID and KID compare a generator with: which split is the reference, and the floor beside it.

The reference is the dataset's held-out split (its test split, LSUN's validation split); the floor is as many
training images, scored against the same reference. A dataset with only a training split uses its two disjoint
halves (`utils.data.registry.comparison_parts`).
"""

from utils.data.registry import comparison_parts
from utils.errors import UserError


def real_images(name, data_dir, part, count, seed, image_shape):
    """`count` images of one part (`load_dataset` arguments such as {"split": "test"}), a seeded random subset,
    at the generator's size: (count, S, S, C) float32."""
    from utils.data.load import load_dataset

    settings = {"data_dir": data_dir, "image_size": image_shape[0], "channels": image_shape[-1], **part}
    settings.update(batch_size=500, shuffle=False, drop_remainder=False)
    total = load_dataset(name, **settings).num_examples
    if count > total:
        where = f"half {part['half']} of the {part['split']}" if "half" in part else f"the {part['split']}"
        raise UserError(f"--n {count} is more than {where} split of {name} holds ({total} images)")
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
        (reference, floor, description): images of the held-out part and of the training part, and the held-out
        part's name ("test", "validation", or "half of train" for a dataset with one split).
    """
    train, held_out, description = comparison_parts(name)
    return (
        real_images(name, data_dir, held_out, count, seed, image_shape),
        real_images(name, data_dir, train, count, seed, image_shape),
        description,
    )
