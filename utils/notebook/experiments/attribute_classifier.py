"""A CelebA attribute classifier for vector arithmetic on faces (paper section 6.3).

`celeba_attribute_classifier` trains one (`celeba_attributes` reads the faces and their 40 attributes,
`train_attribute_classifier` fits it) and scores it on validation faces (`attribute_accuracy`);
`attribute_spec` turns attribute names into the `--a-class` text of `dcgan.py arithmetic`.
"""

import keras
import numpy as np

from utils.errors import UserError


def celeba_attributes(n, image_size=64, split="train", data_dir=None):
    """The first `n` CelebA images of `split`, prepared as for training, with their 40 binary attributes.

    Args:
        n: how many examples (the first ones of the split, in file order).
        image_size: side of the images (central 108-pixel crop, then resize, as in training).
        split: tensorflow-datasets split of celeb_a.
        data_dir: tensorflow-datasets data_dir.

    Returns:
        (images (n, S, S, 3) float32 in [-1, 1], attributes (n, 40) int64 0/1, attribute names in column
        order, which is alphabetical: Eyeglasses 15, Male 20, Smiling 31).
    """
    import tensorflow_datasets as tfds

    from utils.data.load import load_dataset

    part = f"{split}[:{n}]"
    settings = {"data_dir": data_dir, "split": part, "shuffle": False, "drop_remainder": False}
    data = load_dataset("celeb_a", image_size, 3, batch_size=min(n, 256), **settings)
    images = np.concatenate([np.asarray(batch) for batch in data.dataset]).astype(np.float32)
    dataset = tfds.load("celeb_a", split=part, data_dir=data_dir, shuffle_files=False)
    names = sorted(dataset.element_spec["attributes"])
    rows = [
        [int(example["attributes"][name]) for name in names]
        for example in tfds.as_numpy(dataset.map(lambda ex: {"attributes": ex["attributes"]}))
    ]
    images, attributes = images[:n], np.asarray(rows[:n], np.int64)  # tfds' mock data ignores the split's slice
    if len(attributes) != len(images):
        raise UserError(f"celeb_a {part}: {len(images)} images but {len(attributes)} attribute rows")
    return images, attributes, names


BATCHNORM_MOMENTUM = 0.9  # of the attribute classifier while it trains (Keras' default 0.99 lags for short runs)


def train_attribute_classifier(images, attributes, epochs=3, batch_size=128, seed=0, verbose=2):
    """Train a multi-label classifier (one sigmoid logit per attribute) on images in [-1, 1] (Adam, 1e-3 to 0).

    The network is `utils.analysis.classifier.build_classifier` with one output per attribute and binary
    cross-entropy; `dcgan.py arithmetic --classifier FILE --a-class 31=1,20=0 ...` reads its logits.

    Args:
        images: (N, S, S, C) float32 in [-1, 1].
        attributes: (N, K) 0/1 labels.
        epochs, batch_size, seed, verbose: training settings.

    Returns:
        The trained `keras.Sequential`, without optimizer state.
    """
    from utils.analysis.classifier import build_classifier

    attributes = np.asarray(attributes, np.float32)
    if attributes.ndim != 2 or len(attributes) != len(images):
        raise UserError(f"attributes must be (N, K) for {len(images)} images, not {attributes.shape}")
    keras.utils.set_random_seed(seed)
    model = build_classifier(images.shape[1:], attributes.shape[1])
    for layer in model.layers:  # BatchNorm's inference statistics follow within ~50 steps instead of ~500
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = BATCHNORM_MOMENTUM
    steps = epochs * -(-len(images) // batch_size)
    model.compile(  # the learning rate decays to 0, as in `utils.analysis.classifier`
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, steps)),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")],
    )
    model.fit(images, attributes, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=verbose)
    trained = build_classifier(images.shape[1:], attributes.shape[1])
    trained.set_weights(model.get_weights())
    return trained


def attribute_accuracy(classifier, images, attributes, batch_size=500):
    """Per-attribute accuracy of a multi-label classifier (logit > 0 means present); (K,) float64 array."""
    logits = classifier.predict(images, batch_size=batch_size, verbose=0)
    return ((logits > 0) == (np.asarray(attributes) > 0)).mean(axis=0)


def celeba_attribute_classifier(n, image_size=64, epochs=5, validation=2000, data_dir=None, seed=0, log=print):
    """Train the CelebA attribute classifier on the first `n` training faces and check it on validation faces.

    Args:
        n: training faces.
        image_size: side of the faces (the generator's).
        epochs: passes over the `n` faces.
        validation: faces of the validation split it is scored on.
        data_dir: tensorflow-datasets data_dir.
        seed: seed of the weights and the shuffling.
        log: gets one line with the accuracies.

    Returns:
        (the classifier, attribute names in output order, {attribute: validation accuracy} with "mean" over all 40).
    """
    faces, attributes, names = celeba_attributes(n, image_size, "train", data_dir)
    classifier = train_attribute_classifier(faces, attributes, epochs=epochs, seed=seed)
    held_faces, held_attributes, _ = celeba_attributes(validation, image_size, "validation", data_dir)
    scores = attribute_accuracy(classifier, held_faces, held_attributes)
    accuracy = {name: float(score) for name, score in zip(names, scores, strict=True)}
    accuracy["mean"] = float(scores.mean())
    log(
        f"attribute classifier, {len(held_faces)} validation faces: Smiling {accuracy['Smiling']:.3f}, "
        f"Male {accuracy['Male']:.3f}, Eyeglasses {accuracy['Eyeglasses']:.3f}, mean of 40 {accuracy['mean']:.3f}"
    )
    return classifier, names, accuracy


def attribute_spec(names, wanted):
    """The `--a-class` text of `dcgan.py arithmetic` for attributes by name: {"Smiling": 1, "Male": 0} -> "31=1,20=0".

    Raises:
        UserError: an unknown attribute name or a value other than 0 and 1.
    """
    parts = []
    for name, value in wanted.items():
        if name not in names:
            raise UserError(f"unknown attribute {name!r}; known: {', '.join(names)}")
        if value not in (0, 1):
            raise UserError(f"attribute {name} must be wanted 0 or 1, not {value!r}")
        parts.append(f"{list(names).index(name)}={value}")
    return ",".join(parts)
