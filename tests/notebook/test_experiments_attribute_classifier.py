"""utils.notebook.experiments.attribute_classifier: the CelebA attribute classifier for vector arithmetic on faces."""

import math

import numpy as np
import pytest

from utils.errors import UserError
from utils.notebook import smoke_data
from utils.notebook.experiments import attribute_classifier


def test_attribute_classifier_learns_attributes_of_the_pixels():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (256, 16, 16, 1)).astype(np.float32)
    images[:128, :, :8] += 0.8  # attribute 0: the left half is brighter
    images = np.clip(images, -1, 1)
    brightness = images.mean(axis=(1, 2, 3))
    attributes = np.stack([np.arange(256) < 128, brightness > np.median(brightness)], axis=1).astype(int)
    classifier = attribute_classifier.train_attribute_classifier(
        images, attributes, epochs=12, batch_size=16, verbose=0
    )
    assert classifier.output_shape == (None, 2) and getattr(classifier, "optimizer", None) is None
    accuracy = attribute_classifier.attribute_accuracy(classifier, images, attributes)
    assert accuracy[0] > 0.9 and accuracy[1] > 0.75
    with pytest.raises(UserError):
        attribute_classifier.train_attribute_classifier(images, attributes[:10])


def test_attribute_spec_names_outputs_by_position():
    names = ["Eyeglasses", "Male", "Smiling"]
    assert attribute_classifier.attribute_spec(names, {"Smiling": 1, "Male": 0}) == "2=1,1=0"
    with pytest.raises(UserError, match="unknown attribute"):
        attribute_classifier.attribute_spec(names, {"Beard": 1})
    with pytest.raises(UserError, match="0 or 1"):
        attribute_classifier.attribute_spec(names, {"Male": 2})


def test_celeba_attributes_come_with_their_images_in_alphabetical_columns():
    with smoke_data(True, num_examples=10):
        images, attributes, names = attribute_classifier.celeba_attributes(6, image_size=32)
    assert images.shape == (6, 32, 32, 3) and images.min() >= -1.0 and images.max() <= 1.0
    assert attributes.shape == (6, 40) and set(np.unique(attributes)) <= {0, 1}
    assert names == sorted(names) and (names.index("Eyeglasses"), names.index("Male"), names.index("Smiling")) == (
        15,
        20,
        31,
    )
    assert not math.isnan(images.mean())


def test_celeba_attribute_classifier_reports_validation_accuracy_per_attribute():
    lines = []
    with smoke_data(True, num_examples=16):
        classifier, names, accuracy = attribute_classifier.celeba_attribute_classifier(
            16, image_size=32, epochs=1, validation=8, log=lines.append
        )
    assert classifier.input_shape == (None, 32, 32, 3) and classifier.output_shape == (None, 40)
    assert set(accuracy) == {*names, "mean"} and all(0.0 <= value <= 1.0 for value in accuracy.values())
    assert accuracy["mean"] == pytest.approx(np.mean([accuracy[name] for name in names]))
    assert len(lines) == 1 and lines[0].startswith("attribute classifier, 8 validation faces: Smiling")
