"""Memorization check: nearest training images of generated samples, against those of held-out test images.

The rule (`verdict`): for each space (pixels, and D's pooled features when a D is given) take every test
image's distance to its nearest training image. A "near-duplicate" is a generated sample closer to its nearest
training image than 95% of test images are (below the 5% quantile of the test distances), so a generator that
draws new images from the data distribution has about 5% of them. The verdict warns of possible memorization
in a space when the near-duplicate fraction is at least three times that (15%) or when the median
generated-to-train distance is below 0.9 times the median test-to-train distance; otherwise it reports no sign
of memorization. Distances are root-mean-square differences per dimension (pixels in [-1, 1]; D features
standardised with the training set's mean and deviation), so the ratio of medians does not depend on the unit.

`memorization` runs the whole check on a generator and a dataset; its figures are drawn by
`utils.analysis.neighbours_plots`. TensorFlow is imported only when it runs.
"""

import time
from pathlib import Path

import numpy as np

from utils.data.registry import comparison_parts, dataset_spec
from utils.errors import UserError

QUANTILE = 0.05  # near-duplicate threshold: this quantile of the test-to-train distances
MOST_NEAR_DUPLICATES = 3 * QUANTILE  # warn above this fraction of generated near-duplicates
LEAST_RATIO = 0.9  # warn below this ratio of median distances (generated / test)


def nearest(queries, references, k=1, batch_size=256):
    """The `k` nearest references of every query by Euclidean distance, in batches of float32 products.

    Distances come from ||q||^2 + ||r||^2 - 2 q.r over all references; the `k` kept are then recomputed
    exactly in float64, so near-duplicates are not lost to rounding.

    Args:
        queries: (Q, ...) array; flattened to (Q, D).
        references: (N, ...) array of the same size per item; flattened to (N, D).
        k: neighbours per query (at most N).
        batch_size: queries per product.

    Returns:
        (distances (Q, k) float32, ascending, as root-mean-square difference per dimension; indices (Q, k)).
    """
    queries = np.asarray(queries, np.float32).reshape(len(queries), -1)
    references = np.asarray(references, np.float32).reshape(len(references), -1)
    k = min(k, len(references))
    squared_refs = np.einsum("nd,nd->n", references, references)
    distances, indices = [], []
    for start in range(0, len(queries), batch_size):
        batch = queries[start : start + batch_size]
        squared = squared_refs[None, :] - 2.0 * (batch @ references.T)  # ||q||^2 does not change the order
        if k < len(references):
            top = np.argpartition(squared, k - 1, axis=1)[:, :k]
        else:
            top = np.tile(np.arange(len(references)), (len(batch), 1))
        exact = np.sqrt(((batch[:, None, :].astype(np.float64) - references[top]) ** 2).mean(-1))
        order = np.argsort(exact, axis=1, kind="stable")
        distances.append(np.take_along_axis(exact, order, 1))
        indices.append(np.take_along_axis(top, order, 1))
    return np.concatenate(distances).astype(np.float32), np.concatenate(indices)


def compare(generated_distances, test_distances):
    """Summarise nearest-neighbour distances of generated samples against those of test images.

    Args:
        generated_distances: (G,) distance of every generated sample to its nearest training image.
        test_distances: (T,) the same for held-out test images.

    Returns:
        dict: median_generated, median_test, ratio (generated / test medians), threshold (the test
        distances' `QUANTILE` quantile), near_duplicates (fraction of generated samples below it),
        expected_near_duplicates (`QUANTILE`) and memorization (bool, the rule of this module's docstring).
    """
    median_generated = float(np.median(generated_distances))
    median_test = float(np.median(test_distances))
    ratio = median_generated / median_test if median_test > 0 else float("inf")
    threshold = float(np.quantile(test_distances, QUANTILE))
    near = float(np.mean(np.asarray(generated_distances) < threshold))
    return {
        "median_generated": median_generated,
        "median_test": median_test,
        "ratio": ratio,
        "threshold": threshold,
        "near_duplicates": near,
        "expected_near_duplicates": QUANTILE,
        "memorization": bool(near >= MOST_NEAR_DUPLICATES or ratio < LEAST_RATIO),
    }


def verdict(spaces):
    """One line saying whether the generated samples look memorized, from `compare` results per space.

    Args:
        spaces: {space name: `compare` result}, e.g. {"pixel": ..., "D-feature": ...}.

    Returns:
        The verdict sentence.
    """
    ratios = ", ".join(f"{result['ratio']:.2f} in {name} space" for name, result in spaces.items())
    flagged = {name: result for name, result in spaces.items() if result["memorization"]}
    if not flagged:
        near = ", ".join(f"{100 * result['near_duplicates']:.1f}% in {name} space" for name, result in spaces.items())
        return (
            "no sign of memorization: generated samples are no closer to the training set than held-out test "
            f"images are (median distance ratio generated/test {ratios}; near-duplicates {near}, "
            f"{100 * QUANTILE:.0f}% expected)"
        )
    reasons = "; ".join(
        f"in {name} space {100 * result['near_duplicates']:.1f}% of generated samples are closer to a training "
        f"image than {100 * (1 - QUANTILE):.0f}% of test images are ({100 * QUANTILE:.0f}% expected), median ratio "
        f"{result['ratio']:.2f}"
        for name, result in flagged.items()
    )
    return f"warning, possible memorization: {reasons}"


def _train_and_test(name, data_dir, n, k, train_subset, seed):
    """The training images searched and up to `n` held-out images (`utils.data.registry.comparison_parts`: the test
    split, LSUN's validation split, or the other half of a dataset with one split).

    Raises:
        UserError: the subset is larger than the data, or there are fewer than `k` training or 2 test images.
    """
    from utils.analysis.features import load_arrays

    fit, held_out, _ = comparison_parts(name)
    try:
        train = load_arrays(name, data_dir, subset=train_subset, seed=seed, labels=False, **fit)
    except UserError as exc:
        raise UserError(str(exc).replace("--subset", "--train-subset")) from None
    test = load_arrays(name, data_dir, labels=False, **held_out)
    test = test[np.sort(np.random.default_rng(seed).choice(len(test), min(n, len(test)), replace=False))]
    if len(train) < k or len(test) < 2:
        raise UserError(f"too few images: {len(train)} training and {len(test)} test images for --k {k}")
    return train, test


def memorization(
    generator,
    dataset,
    discriminator=None,
    data_dir=None,
    n=1000,
    k=5,
    rows=8,
    train_subset=None,
    seed=0,
    out=None,
    log=print,
):
    """Find the nearest training images of generated samples and judge memorization by this module's rule.

    Args:
        generator: a G making images of the dataset's default shape.
        dataset: dataset name (see `utils.data.registry`); a dataset with one split (a folder, LFW) searches one
            half of it and holds out the other as test images.
        discriminator: a D of the same image shape, to search its pooled conv features too; None: pixels only.
        data_dir: as `utils.data.load.load_dataset`.
        n: generated samples, and at most this many test images.
        k: nearest training images kept per generated sample (shown in the grid).
        rows: generated samples shown in the grid.
        train_subset: search only this many training images, chosen with `seed`; None: all.
        seed: seed of the noise and of the subsets.
        out: PNG path of the grid; the distance histograms go to `<out stem>_distances.png`. None: no figures.
        log: called with the "wrote ..." line (only with `out`) and the verdict.

    Returns:
        The JSON object of `dcgan.py neighbours`: "pixel" and "d_features" (`compare` results; the latter None
        without a D), "memorization" (either flagged), "verdict", "n", "k", "train_examples", "test_examples",
        "figures" (the two paths; empty without `out`) and "seconds".

    Raises:
        UserError: G or D does not fit the dataset's shape, the subset is too large, or there are too few images.
    """
    started = time.time()
    from utils.analysis.features import extract_features, feature_extractor
    from utils.analysis.neighbours_plots import plot_distances, plot_neighbours
    from utils.analysis.svm import standardiser
    from utils.training.samples import fake_samples

    name, spec = dataset_spec(dataset)
    shape = (spec.image_size, spec.image_size, spec.channels)
    if tuple(generator.output_shape[1:]) != shape:
        raise UserError(
            f"generator {generator.name!r} makes images of shape {generator.output_shape[1:]}, {name} has {shape}"
        )
    if discriminator is not None and tuple(discriminator.input_shape[1:]) != shape:
        raise UserError(
            f"discriminator {discriminator.name!r} takes images of shape {discriminator.input_shape[1:]}, not {shape}"
        )
    train, test = _train_and_test(name, data_dir, n, k, train_subset, seed)
    generated, _ = fake_samples(generator, n, seed)

    spaces = {"pixel": (generated, test, train)}
    if discriminator is not None:
        extractor = feature_extractor(discriminator)
        train_features = extract_features(extractor, train)
        mean, scale = standardiser(train_features)
        spaces["D-feature"] = tuple(
            (features - mean) / scale
            for features in (extract_features(extractor, generated), extract_features(extractor, test), train_features)
        )
    found, distances, results = {}, {}, {}
    for space, (queries, held_out, references) in spaces.items():
        gen_distances, gen_indices = nearest(queries, references, k)
        test_distances, _ = nearest(held_out, references, 1)
        found[space] = (gen_distances[:rows], gen_indices[:rows])
        distances[space] = (gen_distances[:, 0], test_distances[:, 0])
        results[space] = compare(gen_distances[:, 0], test_distances[:, 0])
    sentence = verdict(results)

    figures = []
    if out is not None:
        out = Path(out)
        figures = [out, out.with_name(f"{out.stem}_distances.png")]
        plot_neighbours(generated[:rows], train, found, figures[0])
        plot_distances(distances, results, figures[1])
        log(f"wrote {figures[0]} and {figures[1]}")
    log(sentence)
    return {
        "pixel": results["pixel"],
        "d_features": results.get("D-feature"),
        "memorization": any(result["memorization"] for result in results.values()),
        "verdict": sentence,
        "n": n,
        "k": k,
        "train_examples": len(train),
        "test_examples": len(test),
        "figures": [str(path) for path in figures],
        "seconds": round(time.time() - started, 1),
    }
