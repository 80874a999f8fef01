"""The linear L2-SVM solver against sklearn's LinearSVC, and the validation split and label draws."""

import numpy as np
import pytest

from utils.errors import UserError
from utils.svm import (
    draw_per_class,
    fit_l2svm,
    fit_with_validation,
    predict,
    spectrum,
    standardiser,
    validation_split,
)


def blobs(n, classes=3, dims=20, spread=1.0, seed=0):
    """Gaussian blobs around random centres: (float32 features, int labels)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, dims)) * 2
    labels = rng.integers(0, classes, n)
    return (centres[labels] + spread * rng.standard_normal((n, dims))).astype(np.float32), labels


def objective(features, labels, weights, bias, c):
    """0.5*||w_k||^2 + C * sum of squared hinges, summed over the one-vs-rest classes (bias not penalised)."""
    y = np.where(labels[:, None] == np.unique(labels)[None, :], 1.0, -1.0)
    hinge = np.maximum(0.0, 1.0 - y * (features.astype(np.float64) @ weights + bias))
    return 0.5 * (np.asarray(weights, np.float64) ** 2).sum() + c * (hinge**2).sum()


def test_solver_reaches_liblinears_optimum():
    from sklearn.svm import LinearSVC

    features, labels = blobs(600, spread=2.5)  # overlapping classes: many examples inside the margin
    features = (features - features.mean(0)) / features.std(0)
    c = 0.05
    # A large intercept_scaling makes liblinear's penalty on the bias negligible: the same objective as ours.
    reference = LinearSVC(C=c, dual=False, tol=1e-8, max_iter=100_000, intercept_scaling=100).fit(features, labels)
    best = objective(features, labels, reference.coef_.T, reference.intercept_, c)

    tight = fit_l2svm(features, labels, c, tol=1e-6)
    default = fit_l2svm(features, labels, c)

    assert objective(features, labels, *tight[:2], c) == pytest.approx(best, rel=1e-6)
    np.testing.assert_allclose(tight[0], reference.coef_.T, atol=1e-3)
    assert objective(features, labels, *default[:2], c) == pytest.approx(best, rel=1e-3)
    predicted = default[2][(features @ default[0] + default[1]).argmax(1)]
    assert np.mean(predicted == reference.predict(features)) > 0.99


def test_svm_beats_chance_on_separable_data():
    features, labels = blobs(600, classes=4, seed=1)
    train_x, train_y, test_x, test_y = features[:300], labels[:300], features[300:], labels[300:]

    model, scores = fit_with_validation(train_x[:250], train_y[:250], train_x[250:], train_y[250:])

    assert np.mean(predict(model, test_x) == test_y) > 0.95
    assert model.c == max(scores, key=scores.get)
    assert sorted(scores) == [factor / 250 for factor in (0.1, 1.0, 10.0, 100.0, 1000.0)]


def test_standardiser_keeps_constant_features_finite():
    features = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]], np.float32)

    mean, scale = standardiser(features)

    np.testing.assert_allclose(mean, [3.0, 5.0])
    np.testing.assert_allclose(scale, [np.std([1, 3, 5]), 1.0], rtol=1e-6)


@pytest.mark.parametrize("rows", [50, 8])  # more examples than features, and fewer
def test_spectrum_reproduces_the_gram_matrix(rows):
    features = np.random.default_rng(rows).standard_normal((rows, 12)).astype(np.float32)

    vectors, values = spectrum(features)

    np.testing.assert_allclose((vectors * values) @ vectors.T, features.T @ features, atol=1e-3)


def test_validation_split_is_stratified_disjoint_and_seeded():
    labels = np.repeat(np.arange(5), [100, 200, 300, 50, 10])

    pool, validation = validation_split(labels, seed=0)

    assert len(np.intersect1d(pool, validation)) == 0
    assert len(pool) + len(validation) == len(labels)
    np.testing.assert_array_equal(np.bincount(labels[validation]), [10, 20, 30, 5, 1])
    again, _ = validation_split(labels, seed=0)
    other, _ = validation_split(labels, seed=1)
    np.testing.assert_array_equal(pool, again)
    assert not np.array_equal(pool, other)
    assert len(validation_split(np.repeat(np.arange(2), 60_000), seed=0)[1]) == 10_000  # the paper's cap


def test_label_draws_are_balanced_from_the_pool_and_seeded():
    labels = np.repeat(np.arange(3), 40)
    pool = np.arange(0, 120, 2)

    drawn = draw_per_class(labels, pool, 7, seed=5)

    np.testing.assert_array_equal(np.bincount(labels[drawn]), [7, 7, 7])
    assert np.isin(drawn, pool).all() and len(np.unique(drawn)) == 21
    np.testing.assert_array_equal(drawn, draw_per_class(labels, pool, 7, seed=5))
    assert not np.array_equal(drawn, draw_per_class(labels, pool, 7, seed=6))
    with pytest.raises(UserError, match="--labels-per-class 21"):
        draw_per_class(labels, pool, 21, seed=0)


def test_one_class_is_refused():
    with pytest.raises(UserError, match="two classes"):
        fit_l2svm(np.ones((5, 2), np.float32), np.zeros(5, int), 1.0)
