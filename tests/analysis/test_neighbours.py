"""Nearest-neighbour search and the memorization rule of `utils.analysis.neighbours` (numpy only).

`memorization` and `dcgan.py neighbours` are tested in test_neighbours_memorization.py.
"""

import numpy as np
import pytest

from utils.analysis.neighbours import MOST_NEAR_DUPLICATES, QUANTILE, compare, nearest, verdict


def brute_force(queries, references, k):
    """k nearest by explicit float64 distances: (RMS distances, indices)."""
    q = queries.reshape(len(queries), -1).astype(np.float64)
    r = references.reshape(len(references), -1).astype(np.float64)
    distances = np.sqrt(((q[:, None, :] - r[None, :, :]) ** 2).mean(-1))
    order = np.argsort(distances, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(distances, order, 1), order


def test_nearest_matches_brute_force_across_batches():
    rng = np.random.default_rng(0)
    references = rng.uniform(-1, 1, (300, 6, 6, 1)).astype(np.float32)
    queries = rng.uniform(-1, 1, (23, 6, 6, 1)).astype(np.float32)

    distances, indices = nearest(queries, references, k=4, batch_size=5)
    expected_distances, expected_indices = brute_force(queries, references, 4)

    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_allclose(distances, expected_distances, rtol=1e-6)
    assert distances.dtype == np.float32


def test_an_exact_copy_is_found_at_distance_zero():
    rng = np.random.default_rng(1)
    references = rng.uniform(-1, 1, (500, 28 * 28)).astype(np.float32)
    copies = references[[7, 99, 321]] + np.float32(0)

    distances, indices = nearest(copies, references, k=2)

    np.testing.assert_array_equal(indices[:, 0], [7, 99, 321])
    np.testing.assert_array_equal(distances[:, 0], 0.0)
    assert (distances[:, 1] > 0.5).all()


def test_k_larger_than_the_references_is_clamped():
    distances, indices = nearest(np.zeros((2, 3)), np.array([[0, 0, 2.0], [0, 0, 1.0]]), k=5)

    assert indices.tolist() == [[1, 0], [1, 0]]
    np.testing.assert_allclose(distances, np.sqrt([[1 / 3, 4 / 3]] * 2), rtol=1e-6)


def test_samples_as_far_as_test_images_are_not_flagged():
    test = np.random.default_rng(2).uniform(1.0, 2.0, 1000)

    result = compare(test * 1.1, test)

    assert result["ratio"] == pytest.approx(1.1)
    assert result["threshold"] == pytest.approx(np.quantile(test, QUANTILE))
    assert result["near_duplicates"] < QUANTILE
    assert not result["memorization"]
    assert verdict({"pixel": result}).startswith("no sign of memorization")


def test_many_near_copies_are_flagged_even_with_a_normal_median():
    test = np.random.default_rng(3).uniform(1.0, 2.0, 1000)
    generated = test.copy()
    generated[: int(1000 * (MOST_NEAR_DUPLICATES + 0.05))] = 0.01  # a fifth are copies of training images

    result = compare(generated, test)

    assert result["ratio"] > 0.9 and result["memorization"]
    line = verdict({"pixel": compare(test, test), "D-feature": result})
    assert line.startswith("warning") and "D-feature" in line and "pixel space" not in line


def test_samples_closer_than_test_images_are_flagged():
    test = np.random.default_rng(4).uniform(1.0, 2.0, 1000)

    result = compare(test * 0.8, test)

    assert result["ratio"] == pytest.approx(0.8) and result["memorization"]


def test_copies_of_training_images_are_caught_and_fresh_draws_are_not():
    rng = np.random.default_rng(5)
    centres = rng.uniform(-1, 1, (10, 64))

    def draw(n):
        return (centres[rng.integers(0, 10, n)] + 0.3 * rng.standard_normal((n, 64))).astype(np.float32)

    train, test, fresh = draw(2000), draw(300), draw(300)
    copies = train[rng.choice(2000, 300, replace=False)] + 0.01 * rng.standard_normal((300, 64)).astype(np.float32)

    test_distances = nearest(test, train)[0][:, 0]
    copied = compare(nearest(copies, train)[0][:, 0], test_distances)
    honest = compare(nearest(fresh, train)[0][:, 0], test_distances)

    assert copied["memorization"] and copied["near_duplicates"] > 0.9
    assert not honest["memorization"] and 0.9 < honest["ratio"] < 1.1
