"""The SVM's C search on a validation split, standardisation, and the label protocols' splits and draws."""

import numpy as np
import pytest

import utils.analysis.svm
from utils.analysis.svm import C_GRID, draw_per_class, fit_with_validation, predict, standardiser, validation_split
from utils.errors import UserError


def blobs(n, classes=3, dims=20, spread=1.0, seed=0):
    """Gaussian blobs around random centres: (float32 features, int labels)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, dims)) * 2
    labels = rng.integers(0, classes, n)
    return (centres[labels] + spread * rng.standard_normal((n, dims))).astype(np.float32), labels


def test_svm_beats_chance_on_separable_data():
    features, labels = blobs(600, classes=4, seed=1)
    train_x, train_y, test_x, test_y = features[:300], labels[:300], features[300:], labels[300:]

    model, scores = fit_with_validation(train_x[:250], train_y[:250], train_x[250:], train_y[250:])

    assert np.mean(predict(model, test_x) == test_y) > 0.95
    assert model.c == max(scores, key=scores.get)
    tried = [factor / 250 for factor in C_GRID][: len(scores)]
    assert list(scores) == tried
    assert len(tried) == len(C_GRID) or scores[tried[-1]] < max(scores.values())


def test_c_search_stops_after_a_drop_and_keeps_the_best(monkeypatch):
    val_y = np.array([0, 1, 0, 1])
    accuracy = {0.1: 0.5, 1.0: 0.75, 10.0: 0.75, 100.0: 0.5, 1000.0: 1.0}  # a tie goes on, the drop stops
    fitted = []

    def fake_fit(features, labels, c, space=None, start=None):
        fitted.append(round(c * len(features), 6))
        return np.zeros((1, 2), np.float32), np.zeros(2, np.float32), np.array([0, 1])

    def fake_predict(model, features):
        right = round(accuracy[round(model.c * 10, 6)] * len(val_y))
        return np.where(np.arange(len(val_y)) < right, val_y, 1 - val_y)

    monkeypatch.setattr(utils.analysis.svm, "fit_l2svm", fake_fit)
    monkeypatch.setattr(utils.analysis.svm, "predict", fake_predict)
    train_x = np.random.default_rng(0).standard_normal((10, 1)).astype(np.float32)

    model, scores = fit_with_validation(train_x, np.arange(10) % 2, np.zeros((4, 1), np.float32), val_y)

    assert fitted == [0.1, 1.0, 10.0, 100.0]
    assert [round(c * 10, 6) for c in scores] == fitted
    assert list(scores.values()) == [0.5, 0.75, 0.75, 0.5]
    assert model.c == pytest.approx(1.0 / 10)  # the smaller of the tied C


def test_standardiser_keeps_constant_features_finite():
    features = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]], np.float32)

    mean, scale = standardiser(features)

    np.testing.assert_allclose(mean, [3.0, 5.0])
    np.testing.assert_allclose(scale, [np.std([1, 3, 5]), 1.0], rtol=1e-6)


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
