"""An offline feature space for FID/KID: a small CNN classifier trained on the dataset's own labels.

InceptionV3's ImageNet weights are downloaded at run time; where that is impossible, the 128 features of
this classifier's penultimate layer (the "features" layer before the class logits) stand in for
Inception's 2048. The classifier is a plain `keras.Sequential`, saved as .keras like G and D.
`train_and_evaluate` trains it on a labelled dataset and scores it on the test split (`dcgan.py classifier`).
"""

import time

import keras
import numpy as np

from utils.errors import UserError

FEATURES = 128  # width of the penultimate layer, the feature space of FID/KID


def build_classifier(image_shape, num_classes):
    """Build the classifier: three conv/BatchNorm/ReLU/pool blocks, dropout, a 128-unit "features" layer, logits.

    Args:
        image_shape: (S, S, C) of images in [-1, 1].
        num_classes: number of classes.

    Returns:
        A `keras.Sequential` named "classifier" mapping (batch, S, S, C) to (batch, num_classes) logits.
    """
    layers = [keras.Input(tuple(image_shape), name="image")]
    for index, width in enumerate((32, 64, 64), start=1):
        # S x S x C -> S/2 x S/2 x 32 -> S/4 x S/4 x 64 -> S/8 x S/8 x 64 (3x3 for 28 pixels)
        layers += [
            keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{index}"),
            keras.layers.BatchNormalization(name=f"conv{index}_bn"),
            keras.layers.ReLU(name=f"conv{index}_relu"),
            keras.layers.MaxPooling2D(2, name=f"pool{index}"),
        ]
    layers += [
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dropout(0.3, name="dropout"),
        keras.layers.Dense(FEATURES, activation="relu", name="features"),
        keras.layers.Dense(num_classes, name="logits"),
    ]
    return keras.Sequential(layers, name="classifier")


def feature_extractor(classifier):
    """The model from `classifier`'s input to its penultimate layer's output (the FID/KID feature space).

    Raises:
        UserError: `classifier` is not an image model with at least two layers.
    """
    if len(classifier.layers) < 2 or len(classifier.input_shape) != 4:
        raise UserError(
            f"{classifier.name} is not an image classifier: it maps {classifier.input_shape} to {classifier.output_shape}"
        )
    if not isinstance(classifier, keras.Sequential):  # a functional model: cut it at its penultimate layer
        return keras.Model(classifier.inputs, classifier.layers[-2].output, name="classifier_features")
    inputs = keras.Input(tuple(classifier.input_shape[1:]), name="image")
    return keras.Sequential([inputs, *classifier.layers[:-1]], name="classifier_features")


def train_classifier(images, labels, epochs=4, batch_size=128, seed=0, verbose=2):
    """Train a fresh classifier on labelled images (Adam, learning rate 1e-3 decayed to 0 on a cosine).

    Args:
        images: (N, S, S, C) float32 in [-1, 1].
        labels: (N,) integer classes 0..K-1.
        epochs: passes over the data.
        batch_size: images per step.
        seed: seed of the weights, dropout and shuffling.
        verbose: Keras `fit` verbosity.

    Returns:
        The trained `keras.Sequential`, uncompiled (no optimizer state, so its file stays small).

    Raises:
        UserError: the data has no labels (labels < 0) or a single class.
    """
    if len(labels) == 0 or labels.min() < 0:
        raise UserError("the data has no class labels; a classifier needs a labelled dataset")
    num_classes = int(labels.max()) + 1
    if num_classes < 2:
        raise UserError("the data has a single class; a classifier needs at least two")
    keras.utils.set_random_seed(seed)
    model = build_classifier(images.shape[1:], num_classes)
    steps = epochs * -(-len(labels) // batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, steps)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(images, labels, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=verbose)
    trained = build_classifier(images.shape[1:], num_classes)  # the same network without the optimizer
    trained.set_weights(model.get_weights())
    return trained


def accuracy(classifier, images, labels, batch_size=500):
    """Fraction of `images` that `classifier` puts in their class `labels`."""
    logits = classifier.predict(images, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def train_and_evaluate(dataset, data_dir=None, epochs=4, batch_size=128, subset=None, seed=0, log=print):
    """Train a classifier on a labelled dataset's training split and measure its accuracy on the test split.

    Args:
        dataset: a labelled dataset name or alias.
        data_dir: as `utils.data.load.load_dataset`.
        epochs: passes over the training split.
        batch_size: images per step.
        subset: train on this many examples, chosen with `seed`; all when None.
        seed: seed of the weights, the subset and the shuffling.
        log: called with the line saying what it trains and tests on.

    Returns:
        (the trained `keras.Sequential`, uncompiled; {"test_accuracy", "train_examples", "test_examples",
        "epochs", "seconds"}).

    Raises:
        UserError: the dataset has no class labels, or `subset` is larger than the data.
    """
    from utils.data.load import load_dataset
    from utils.data.registry import dataset_spec
    from utils.images import to_unit_range

    start = time.perf_counter()
    name, spec = dataset_spec(dataset)
    if not spec.labels:
        raise UserError(f"dataset {name} has no class labels; train the classifier on a labelled dataset")
    settings = {"data_dir": data_dir, "labels": True, "shuffle": False, "drop_remainder": False}
    train = load_dataset(name, subset=subset, seed=seed, split="train", **settings)
    test = load_dataset(name, split="test", **settings)
    (train_images, train_labels), (test_images, test_labels) = train.arrays(), test.arrays()  # uint8, stored order
    train_images, test_images = to_unit_range(train_images), to_unit_range(test_images)
    log(f"training on {len(train_labels)} images from {train.source}; testing on {len(test_labels)}")
    model = train_classifier(train_images, train_labels, epochs, batch_size, seed)
    result = {
        "test_accuracy": accuracy(model, test_images, test_labels),
        "train_examples": len(train_labels),
        "test_examples": len(test_labels),
        "epochs": epochs,
        "seconds": round(time.perf_counter() - start, 1),
    }
    return model, result
