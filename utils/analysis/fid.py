"""Sample-quality scores from image features: FID and KID, plus the feature extractors they run on.

FID (Heusel et al. 2017) fits one Gaussian to each set of features and takes the Fréchet distance
||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)). KID (Binkowski et al. 2018) is the unbiased estimate of
the squared MMD with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets;
unlike FID it is unbiased, so a small sample does not inflate it. Both work on the features of any Keras
model: InceptionV3 (ImageNet weights, the published convention) or, offline, a classifier trained on
the same dataset (`utils.analysis.classifier`), whose numbers are comparable only with each other.
`fid_kid` scores a generator against a real reference split, beside the real-vs-real floor (`dcgan.py fid`).
"""

import time
import warnings

import numpy as np
from scipy import linalg

from utils.errors import UserError

INCEPTION_SIZE = 299  # InceptionV3's input side


def gaussian_fit(features):
    """Mean and covariance of a set of feature vectors.

    Args:
        features: (N, D) array, N >= 2.

    Returns:
        (mean (D,), covariance (D, D)), float64.
    """
    features = np.asarray(features, np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _sqrtm(matrix):
    """`scipy.linalg.sqrtm` of `matrix`; returns (root, whether scipy warned that it may be inaccurate)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", linalg.LinAlgWarning)
        root = linalg.sqrtm(matrix)
    return root, any(issubclass(warning.category, linalg.LinAlgWarning) for warning in caught)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """Fréchet distance between the Gaussians N(mu1, sigma1) and N(mu2, sigma2).

    The matrix square root of sigma1 sigma2 comes from `scipy.linalg.sqrtm`. When that product is singular
    (dead features, fewer samples than dimensions) and scipy warns or the root is not finite, `eps` is
    added to both diagonals, in the root and in the traces alike (so identical Gaussians still give 0); an
    imaginary part left by rounding is dropped if it is small and refused if not.

    Args:
        mu1, mu2: means (D,).
        sigma1, sigma2: covariances (D, D).
        eps: diagonal offset used only when the plain root is inaccurate.

    Returns:
        The distance (a float >= 0 up to rounding).
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"the two Gaussians differ in dimension: {mu1.shape} and {mu2.shape}")
    covmean, inaccurate = _sqrtm(sigma1 @ sigma2)
    if inaccurate or not np.isfinite(covmean).all():
        offset = np.eye(len(sigma1)) * eps
        sigma1, sigma2 = sigma1 + offset, sigma2 + offset
        covmean, _ = _sqrtm(sigma1 @ sigma2)
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"matrix square root has an imaginary part {np.abs(covmean.imag).max():.3g}")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def fid(features1, features2):
    """FID between two sets of features (N1, D) and (N2, D)."""
    return frechet_distance(*gaussian_fit(features1), *gaussian_fit(features2))


def polynomial_kernel(x, y, degree=3, coef0=1.0):
    """The kernel matrix k(x_i, y_j) = (x_i.y_j / D + coef0)^degree of (m, D) and (n, D) arrays: (m, n)."""
    base = x @ y.T / x.shape[1] + coef0
    kernel = base.copy()
    for _ in range(degree - 1):  # repeated products: much faster than a float power
        kernel *= base
    return kernel


def polynomial_mmd2(x, y, degree=3, coef0=1.0):
    """Unbiased squared MMD between samples `x` (m, D) and `y` (n, D) with the polynomial kernel."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    m, n = len(x), len(y)
    k_xx, k_yy = polynomial_kernel(x, x, degree, coef0), polynomial_kernel(y, y, degree, coef0)
    k_xy = polynomial_kernel(x, y, degree, coef0)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2 * k_xy.mean())


def kid(features1, features2, subsets=100, subset_size=1000, seed=0):
    """KID: the unbiased polynomial-kernel MMD^2 over random subsets, as mean and standard deviation.

    Args:
        features1, features2: (N1, D) and (N2, D) features.
        subsets: how many random subsets to average over.
        subset_size: examples per subset from each set; capped at the smaller set.
        seed: seed of the subset choice.

    Returns:
        (mean, standard deviation) over the subsets.
    """
    features1, features2 = np.asarray(features1), np.asarray(features2)
    size = min(subset_size, len(features1), len(features2))
    if size < 2:
        raise ValueError("KID needs at least 2 examples in each set")
    rng = np.random.default_rng(seed)
    scores = [
        polynomial_mmd2(
            features1[rng.choice(len(features1), size, replace=False)],
            features2[rng.choice(len(features2), size, replace=False)],
        )
        for _ in range(subsets)
    ]
    return float(np.mean(scores)), float(np.std(scores))


def extract_features(extractor, images, batch_size=250):
    """Run `extractor` (a Keras model or any callable) over `images` in batches.

    Returns:
        (N, D) float64 features.
    """
    parts = [
        np.asarray(extractor(images[i : i + batch_size], training=False)) for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(parts).reshape(len(images), -1).astype(np.float64)


def inception_extractor(image_shape):
    """InceptionV3 (ImageNet weights, average-pooled 2048 features) taking images in [-1, 1] of `image_shape`.

    Images are resized to 299x299 and grayscale is repeated to 3 channels; [-1, 1] is already the
    scaling InceptionV3 was trained with.

    Raises:
        UserError: the weights are not cached and cannot be downloaded.
    """
    import keras

    try:
        inception = keras.applications.InceptionV3(include_top=False, pooling="avg", weights="imagenet")
    except Exception as exc:  # urllib, HTTP and file errors all end here
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"cannot get the InceptionV3 ImageNet weights ({reason[:160]}); they are downloaded on first use, "
            "so without internet use --features classifier (a classifier trained on the same dataset)"
        ) from None
    inputs = keras.Input(tuple(image_shape))
    images = keras.layers.Resizing(INCEPTION_SIZE, INCEPTION_SIZE, interpolation="bilinear")(inputs)
    if image_shape[-1] == 1:
        images = keras.layers.Concatenate()([images, images, images])
    return keras.Model(inputs, inception(images), name="inception_features")


def fid_kid(generator, dataset, classifier=None, data_dir=None, n=10000, seed=0, out=None, log=print):
    """FID and KID of `n` generated images against `n` real ones, beside the real-vs-real floor.

    The floor is the same scores for `n` training images against the same reference images: what a perfect
    generator would get at this sample size.

    Args:
        generator: a loaded generator.
        dataset: dataset name or alias; the reference is its test split (see `fid_reference.real_sets`).
        classifier: a loaded classifier (`utils.analysis.classifier`) whose penultimate layer is the feature
            space, or None for InceptionV3 (ImageNet weights, downloaded on first use).
        data_dir: as `utils.data.load.load_dataset`.
        n: images in each set, at least 2.
        seed: seed of the noise, the real subsets and KID's subsets.
        out: PNG path of a bar chart of the scores against the floor; None draws nothing.
        log: called with the line of scores.

    Returns:
        The JSON object `dcgan.py fid` prints: "fid", "kid", "kid_std", "floor_fid", "floor_kid",
        "floor_kid_std", "features" ("classifier" or "inception"), "feature_dim", "n", "reference"
        ("<dataset> <split>") and "seconds".

    Raises:
        UserError: the classifier takes other images than the generator draws, `n` is too large for the data,
            or the InceptionV3 weights cannot be had.
    """
    from utils.analysis.classifier import feature_extractor
    from utils.analysis.fid_reference import real_sets
    from utils.data.registry import dataset_spec
    from utils.training.samples import fake_samples

    start = time.perf_counter()
    name, _ = dataset_spec(dataset)
    if n < 2:
        raise UserError(f"n must be at least 2, not {n}")
    image_shape = tuple(generator.output_shape[1:])
    if classifier is not None:
        if tuple(classifier.input_shape[1:]) != image_shape:
            raise UserError(
                f"classifier {classifier.name!r} takes images of shape {tuple(classifier.input_shape[1:])}, "
                f"but the generator draws {image_shape}"
            )
        extractor = feature_extractor(classifier)
    else:
        extractor = inception_extractor(image_shape)
    features = "classifier" if classifier is not None else "inception"
    reference, floor, split = real_sets(name, data_dir, n, seed, image_shape)
    fake = fake_samples(generator, n, seed)[0]
    fake_f, reference_f, floor_f = (extract_features(extractor, images) for images in (fake, reference, floor))
    kid_mean, kid_std = kid(fake_f, reference_f, seed=seed)
    floor_kid, floor_kid_std = kid(floor_f, reference_f, seed=seed)
    result = {
        "fid": fid(fake_f, reference_f),
        "kid": kid_mean,
        "kid_std": kid_std,
        "floor_fid": fid(floor_f, reference_f),
        "floor_kid": floor_kid,
        "floor_kid_std": floor_kid_std,
        "features": features,
        "feature_dim": fake_f.shape[1],
        "n": n,
        "reference": f"{name} {split}",
        "seconds": round(time.perf_counter() - start, 1),
    }
    log(f"FID {result['fid']:.4g} (real floor {result['floor_fid']:.4g}), KID {kid_mean:.4g} +- {kid_std:.2g} "
        f"(floor {floor_kid:.4g}) in {features} features, {n} images each")  # fmt: skip
    if out is not None:
        from utils.analysis.fid_plots import plot_scores

        plot_scores(result, out)
    return result
