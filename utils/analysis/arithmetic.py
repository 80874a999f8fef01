"""Vector arithmetic on z (paper section 6.3): concepts as mean z, A - B + C, and picking concepts by a classifier.

As in the paper, each concept is the mean of at least three z vectors whose images show it; the result
z = mean(A) - mean(B) + mean(C) is decoded together with eight neighbours z + U(-scale, scale) noise.
Concepts are given either as indices into a seeded grid of candidates, or as a class (or attribute) spec
("7", "31=1,20=0") that a classifier's most confident candidates are picked for.

`vector_arithmetic` is the whole analysis (`dcgan.py arithmetic`); the class specs and the classifier's picks
are in `arithmetic_classifier`, the figures in `arithmetic_plots`.
This module loads Keras only when that runs, so the command line checks its flags with it before TensorFlow.
"""

import math

import numpy as np

from utils.analysis.arithmetic_classifier import (
    CLASSIFIER_RANGES,
    check_classifier,
    class_probabilities,
    matches,
    parse_class_spec,
    pick_confident,
    predicted_histogram,
)
from utils.errors import UserError

CONCEPTS = ("a", "b", "c")
MIN_SAMPLES = 3  # the paper averages z over three samples per concept
RESULTS = 9  # the centre image and eight noisy neighbours, drawn as a 3x3 grid
CENTRE = RESULTS // 2


def parse_indices(text, candidates, flag):
    """Read 3 or more distinct candidate indices, "3,17,42" or a list of ints; returns a list of ints."""
    try:
        indices = [int(part) for part in (text.split(",") if isinstance(text, str) else text) if str(part).strip()]
    except (TypeError, ValueError):
        raise UserError(f"{flag} takes comma-separated candidate indices such as 3,17,42, not {text!r}") from None
    if len(set(indices)) != len(indices):
        raise UserError(f"{flag} {text} repeats an index")
    if len(indices) < MIN_SAMPLES:
        raise UserError(f"{flag} needs at least {MIN_SAMPLES} samples to average, got {len(indices)}")
    bad = [index for index in indices if not 0 <= index < candidates]
    if bad:
        raise UserError(f"{flag}: index {bad[0]} is outside the {candidates} candidates (0..{candidates - 1})")
    return indices


def concept_mean(z, indices):
    """Mean of the latent vectors `z[indices]`; (latent_dim,) float32."""
    return np.asarray(z, np.float64)[list(indices)].mean(axis=0).astype(np.float32)


def combine(a, b, c):
    """The arithmetic A - B + C of three concept vectors."""
    return (np.asarray(a, np.float64) - np.asarray(b, np.float64) + np.asarray(c, np.float64)).astype(np.float32)


def with_neighbours(centre, scale, seed=0):
    """`centre` and eight neighbours centre + U(-scale, scale) noise, centre in the middle of the 3x3 grid.

    Args:
        centre: (latent_dim,) vector.
        scale: half-width of the uniform noise (the paper used 0.25).
        seed: seed of the noise.

    Returns:
        (9, latent_dim) float32 array; row `CENTRE` is `centre` itself.
    """
    centre = np.asarray(centre, np.float32)
    noise = np.random.default_rng(seed).uniform(-scale, scale, (RESULTS, len(centre))).astype(np.float32)
    noise[CENTRE] = 0.0
    return centre[None, :] + noise


def _text(value):
    """A class spec as text ("7" for 7); None stays None."""
    return None if value is None else str(value)


def _concepts(indices, classes, expect_class, candidates, has_classifier):
    """Check the concepts of `vector_arithmetic`: {name: indices or (spec text, pairs)} and the class specs."""
    concepts, specs = {}, []
    for name in CONCEPTS:
        if indices[name] not in (None, "") and _text(classes[name]):
            raise UserError(f"give {name} or {name}_class, not both")
        if _text(classes[name]):
            pairs, attributes = parse_class_spec(classes[name], f"{name}_class")
            concepts[name] = (_text(classes[name]), pairs)
            specs.append((pairs, attributes))
        elif indices[name] not in (None, ""):
            concepts[name] = parse_indices(indices[name], candidates, name)
    if concepts and len(concepts) != len(CONCEPTS):
        raise UserError("give all three concepts (a or a_class, b or b_class, c or c_class), or none")
    if _text(expect_class):
        specs.append(parse_class_spec(expect_class, "expect_class"))
    if specs and not has_classifier:
        raise UserError("a_class, b_class, c_class and expect_class need a classifier")
    return concepts, specs


def vector_arithmetic(
    generator,
    a=None,
    b=None,
    c=None,
    classifier=None,
    a_class=None,
    b_class=None,
    c_class=None,
    expect_class=None,
    classifier_range="signed",
    per_concept=3,
    noise_scale=0.25,
    candidates=64,
    seed=0,
    candidate_grid=None,
    out=None,
):
    """Decode mean(A) - mean(B) + mean(C) of concepts of z with 8 noisy neighbours (`dcgan.py arithmetic`).

    Without concepts it only draws the numbered candidates to pick indices from.

    Args:
        generator: a Keras generator, z -> image.
        a, b, c: a concept as 3 or more indices of the candidates ("3,17,42" or [3, 17, 42]).
        classifier: a Keras model, images -> class logits or probabilities; needed by class specs.
        a_class, b_class, c_class: a concept instead as the `per_concept` candidates that the classifier is
            most confident show a class ("7" or 7) or attributes ("31=1,20=0").
        expect_class: class or attributes A - B + C should show: reports the fraction of the 9 results that do.
        classifier_range: pixels the classifier expects: "signed" [-1, 1], "unit" [0, 1] or "uint8" [0, 255].
        per_concept: samples per class concept, at least 3.
        noise_scale: the neighbours' noise U(-noise_scale, noise_scale).
        candidates: images generated from `seed` to pick concepts from.
        seed: seed of the candidates and of the noise.
        candidate_grid: PNG to also write the numbered candidate grid to, or None.
        out: PNG of the arithmetic figure (without concepts: of the candidate grid, unless `candidate_grid`
            is given); None writes no figure.

    Returns:
        The JSON of `dcgan.py arithmetic`: "mode" ("candidates", "indices" or "classifier"), "candidates", "seed"
        and "out" (str or None); with concepts also "concepts" ({name: "indices", "class", "confidence"}),
        "noise_scale", "result_norm" and, with a classifier, "result_predicted", "expect_class", "expected_fraction".

    Raises:
        UserError: inconsistent arguments, or a classifier that does not fit the generator or the specs.
    """
    from utils.analysis import arithmetic_plots as plots
    from utils.analysis.latent import predict
    from utils.training.samples import sample_latent

    if candidates < 1:
        raise UserError(f"candidates must be at least 1, not {candidates}")
    if per_concept < MIN_SAMPLES:
        raise UserError(f"per_concept must be at least {MIN_SAMPLES}: a concept is a mean over 3 or more samples")
    if not 0.0 <= noise_scale < math.inf:
        raise UserError(f"noise_scale must be a finite number >= 0, not {noise_scale}")
    if classifier_range not in CLASSIFIER_RANGES:
        raise UserError(f"classifier_range must be one of {', '.join(CLASSIFIER_RANGES)}, not {classifier_range!r}")
    indices, classes = {"a": a, "b": b, "c": c}, {"a": a_class, "b": b_class, "c": c_class}
    concepts, specs = _concepts(indices, classes, expect_class, candidates, classifier is not None)
    if classifier is not None:
        check_classifier(classifier, generator.output_shape[1:], specs, repr(classifier.name))
    attributes = any(is_attributes for _, is_attributes in specs)
    low, high = CLASSIFIER_RANGES[classifier_range]

    def classify(images):
        if classifier is None:
            return None
        return class_probabilities(predict(classifier, (images + 1.0) / 2.0 * (high - low) + low), attributes)

    z = sample_latent(candidates, generator.input_shape[-1], seed)
    images = predict(generator, z)
    probabilities = classify(images)
    if candidate_grid or (out and not concepts):
        plots.draw_candidates(
            images, plots.candidate_labels(probabilities, attributes, candidates), candidate_grid or out
        )
    if not concepts:
        return {"mode": "candidates", "candidates": candidates, "seed": seed, "out": _text(out)}

    picked = {}
    for name, value in concepts.items():
        if isinstance(value, list):
            picked[name] = {"indices": value, "class": None, "confidence": None}
        else:
            chosen, scores = pick_confident(probabilities, value[1], per_concept)
            picked[name] = {"indices": chosen, "class": value[0], "confidence": scores}
    means = [concept_mean(z, picked[name]["indices"]) for name in CONCEPTS]
    result_z = with_neighbours(combine(*means), noise_scale, seed=seed)
    results = predict(generator, result_z)
    result_probabilities = classify(results)
    if out:
        samples = [images[picked[name]["indices"]] for name in CONCEPTS]
        mean_images = predict(generator, np.stack(means))
        plots.draw_concepts(samples, picked, mean_images, results, result_probabilities, attributes, noise_scale, out)
    report = {
        "mode": "classifier" if any(picked[name]["class"] for name in CONCEPTS) else "indices",
        "candidates": candidates,
        "seed": seed,
        "concepts": picked,
        "noise_scale": noise_scale,
        "result_norm": float(np.linalg.norm(result_z[CENTRE])),
        "out": _text(out),
    }
    if classifier is not None:
        report["result_predicted"] = predicted_histogram(result_probabilities, attributes)
        report["expect_class"] = _text(expect_class)
        expected = matches(result_probabilities, specs[-1][0], attributes) if _text(expect_class) else None
        report["expected_fraction"] = float(expected.mean()) if expected is not None else None
    return report
