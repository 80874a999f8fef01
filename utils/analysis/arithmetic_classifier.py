"""Class specs and a classifier's picks for vector arithmetic: which candidates show a class or attributes.

A spec names what a concept (or the result) should show, read from a classifier's outputs:

    "7"          class 7 (softmax outputs; single-label)
    "31=1,20=0"  attribute 31 present and attribute 20 absent (independent sigmoid outputs; multi-label)
"""

import numpy as np

from utils.errors import UserError

# Pixel range each classifier input scale expects, from the generator's [-1, 1].
CLASSIFIER_RANGES = {"signed": (-1.0, 1.0), "unit": (0.0, 1.0), "uint8": (0.0, 255.0)}


def parse_class_spec(text, flag):
    """Read "7" (one class of a softmax) or "31=1,20=0" (sigmoid attributes wanted 1 or 0).

    Returns:
        (pairs, attributes): a tuple of (output index, wanted value), and whether the spec names attributes.
    """
    text = str(text)
    attributes = "=" in text
    pairs = []
    try:
        for part in text.split(","):
            index, _, value = part.partition("=")
            pairs.append((int(index), int(value) if attributes else 1))
    except ValueError:
        raise UserError(
            f"{flag} takes a class index such as 7, or attributes such as 31=1,20=0, not {text!r}"
        ) from None
    if not attributes and len(pairs) != 1:
        raise UserError(f"{flag} {text}: name one class, or attributes as INDEX=0|1,INDEX=0|1")
    if any(index < 0 or value not in (0, 1) for index, value in pairs):
        raise UserError(f"{flag} {text}: indices must be >= 0 and attribute values 0 or 1")
    if len({index for index, _ in pairs}) != len(pairs):
        raise UserError(f"{flag} {text} names an output twice")
    return tuple(pairs), attributes


def check_classifier(classifier, image_shape, specs, name):
    """UserError unless `classifier` maps the generator's images to (None, classes) with the outputs `specs` name.

    Args:
        classifier: a Keras model.
        image_shape: the generator's image shape (H, W, C).
        specs: (pairs, attributes) of `parse_class_spec`.
        name: how the messages name the classifier (its file).
    """
    if tuple(classifier.input_shape[1:]) != tuple(image_shape) or len(classifier.output_shape) != 2:
        raise UserError(
            f"classifier {name} maps {classifier.input_shape} to {classifier.output_shape}; it must map the "
            f"generator's images {(None, *image_shape)} to (None, classes)"
        )
    named = max((index for pairs, _ in specs for index, _ in pairs), default=-1)
    if named >= classifier.output_shape[1]:
        raise UserError(f"classifier {name} has {classifier.output_shape[1]} outputs; a class spec names {named}")


def class_probabilities(outputs, attributes):
    """Turn classifier outputs into probabilities.

    Outputs already in [0, 1] are taken as probabilities (softmax or sigmoid); anything else as logits,
    through a sigmoid per output for attribute specs or for a single output unit, else a softmax.

    Args:
        outputs: (N, K) classifier outputs.
        attributes: whether the outputs are independent attributes.

    Returns:
        (N, K) float64 probabilities.
    """
    outputs = np.asarray(outputs, np.float64)
    if outputs.min() >= 0.0 and outputs.max() <= 1.0:
        return outputs
    if attributes or outputs.shape[1] == 1:
        return 1.0 / (1.0 + np.exp(-outputs))
    shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def confidence(probabilities, pairs):
    """Probability that each image shows the spec: product of p (wanted 1) or 1 - p (wanted 0) per output.

    Returns:
        (N,) float64 array.
    """
    probabilities = np.asarray(probabilities, np.float64)
    wanted = [probabilities[:, index] if value else 1.0 - probabilities[:, index] for index, value in pairs]
    return np.prod(wanted, axis=0)


def pick_confident(probabilities, pairs, count):
    """The `count` candidates the classifier is most confident show the spec, most confident first.

    Returns:
        (indices list, their confidences list).
    """
    scores = confidence(probabilities, pairs)
    if count > len(scores):
        raise UserError(f"asked for {count} samples per concept but there are only {len(scores)} candidates")
    order = np.argsort(-scores, kind="stable")[:count]
    return [int(index) for index in order], [float(scores[index]) for index in order]


def matches(probabilities, pairs, attributes):
    """Whether each image is classified as the spec: argmax == class, or every attribute thresholded at 0.5."""
    probabilities = np.asarray(probabilities)
    if not attributes:
        return probabilities.argmax(axis=1) == pairs[0][0]
    return np.all([(probabilities[:, index] > 0.5) == bool(value) for index, value in pairs], axis=0)


def predicted_histogram(probabilities, attributes):
    """How many images each class is predicted for (argmax), or each attribute is present in (p > 0.5).

    Returns:
        Dict from class or attribute index (as str, for JSON) to count, classes with zero left out.
    """
    probabilities = np.asarray(probabilities)
    if attributes or probabilities.shape[1] == 1:
        counts = (probabilities > 0.5).sum(axis=0)
    else:
        counts = np.bincount(probabilities.argmax(axis=1), minlength=probabilities.shape[1])
    return {str(index): int(count) for index, count in enumerate(counts) if count}
