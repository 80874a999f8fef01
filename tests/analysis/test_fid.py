"""FID and KID against closed forms, and the feature extractors they run on (`fid_kid`: test_fid_kid.py)."""

import warnings

import keras
import numpy as np
import pytest

from utils.analysis.fid import extract_features, fid, frechet_distance, inception_extractor, kid, polynomial_mmd2
from utils.errors import UserError


def gaussian(n, mean, variances, seed):
    rng = np.random.default_rng(seed)
    return np.asarray(mean) + rng.standard_normal((n, len(variances))) * np.sqrt(variances)


def diagonal_fid(mu1, s1, mu2, s2):
    """Closed form for diagonal covariances: ||mu1 - mu2||^2 + sum(s1 + s2 - 2 sqrt(s1 s2))."""
    mu1, s1, mu2, s2 = map(np.asarray, (mu1, s1, mu2, s2))
    return float(np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2)))


def test_frechet_distance_matches_the_diagonal_closed_form():
    mu1, s1, mu2, s2 = [0.0, 1.0, -2.0], [1.0, 4.0, 0.25], [1.0, 1.0, 0.0], [9.0, 1.0, 0.25]
    expected = 1 + 0 + 4 + (1 + 9 - 6) + (4 + 1 - 4) + 0  # = 10

    assert diagonal_fid(mu1, s1, mu2, s2) == pytest.approx(expected)
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, abs=1e-9)


def test_frechet_distance_does_not_change_when_both_gaussians_are_rotated():
    rotation = np.linalg.qr(np.random.default_rng(0).standard_normal((4, 4)))[0]
    mu1, s1, mu2, s2 = np.zeros(4), np.array([1.0, 2.0, 3.0, 4.0]), np.ones(4), np.array([4.0, 1.0, 1.0, 0.5])
    rotated = frechet_distance(
        rotation @ mu1, rotation @ np.diag(s1) @ rotation.T, rotation @ mu2, rotation @ np.diag(s2) @ rotation.T
    )

    assert rotated == pytest.approx(diagonal_fid(mu1, s1, mu2, s2), abs=1e-8)


def test_fid_of_samples_approaches_the_closed_form():
    mu1, s1, mu2, s2 = [0.0, 0.0, 0.0], [1.0, 2.0, 0.5], [0.5, -1.0, 0.0], [2.0, 2.0, 1.0]
    expected = diagonal_fid(mu1, s1, mu2, s2)  # 1.25 + 0.172 + 0 + 0.086 = 1.51

    measured = fid(gaussian(50_000, mu1, s1, 1), gaussian(50_000, mu2, s2, 2))

    assert measured == pytest.approx(expected, rel=0.03)


def test_fid_of_identical_sets_is_zero_even_with_dead_features():
    features = gaussian(500, [0.0] * 6, [1.0] * 6, 3)
    features[:, 2] = 0.0  # a feature that never fires makes the covariance singular

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the singular product is handled, not warned about
        assert abs(fid(features, features)) < 1e-6
    assert fid(features, features + 1.0) == pytest.approx(6.0, abs=1e-6)  # only the means differ


def brute_force_mmd2(x, y):
    """The unbiased MMD^2 estimate written as its definition, with loops (for small sets)."""
    dim = x.shape[1]

    def k(a, b):
        return (a @ b / dim + 1) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_polynomial_mmd2_is_the_unbiased_estimate():
    x, y = gaussian(12, [0.0] * 3, [1.0] * 3, 4), gaussian(9, [0.3] * 3, [2.0] * 3, 5)

    assert polynomial_mmd2(x, y) == pytest.approx(brute_force_mmd2(x, y), rel=1e-10)


def test_kid_is_about_zero_for_one_distribution_and_positive_for_shifted_ones():
    same_a, same_b = gaussian(2000, [0.0] * 8, [1.0] * 8, 6), gaussian(2000, [0.0] * 8, [1.0] * 8, 7)
    shifted = gaussian(2000, [0.5] * 8, [1.0] * 8, 8)

    same_mean, same_std = kid(same_a, same_b, subsets=20, subset_size=500)
    shifted_mean, shifted_std = kid(same_a, shifted, subsets=20, subset_size=500)

    assert abs(same_mean) < 0.01 and same_std > 0
    assert shifted_mean > 0.1 and shifted_mean > 10 * shifted_std
    assert kid(same_a, same_b, subsets=20, subset_size=500) == (same_mean, same_std)  # seeded


def test_extract_features_in_batches_equals_one_pass():
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(3, 3), keras.layers.Flatten()])
    images = np.random.default_rng(9).uniform(-1, 1, (10, 6, 6, 1)).astype(np.float32)

    features = extract_features(model, images, batch_size=3)

    assert features.shape == (10, 48) and features.dtype == np.float64
    np.testing.assert_allclose(features, np.asarray(model(images)), atol=1e-6)


def test_inception_without_weights_is_a_user_error(monkeypatch):
    def offline(**kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: Name or service not known")

    monkeypatch.setattr(keras.applications, "InceptionV3", offline)

    with pytest.raises(UserError, match="--features classifier"):
        inception_extractor((28, 28, 1))


def test_inception_input_is_resized_to_299_and_made_rgb(monkeypatch):
    seen = {}

    def fake_inception(**kwargs):
        seen.update(kwargs)
        return keras.Sequential([keras.Input((299, 299, 3)), keras.layers.GlobalAveragePooling2D()])

    monkeypatch.setattr(keras.applications, "InceptionV3", fake_inception)
    images = np.full((2, 28, 28, 1), 0.5, np.float32)
    images[1] = -0.25

    features = extract_features(inception_extractor((28, 28, 1)), images)

    assert seen == {"include_top": False, "pooling": "avg", "weights": "imagenet"}
    np.testing.assert_allclose(features, [[0.5] * 3, [-0.25] * 3], atol=1e-5)
