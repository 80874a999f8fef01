"""The linear L2-SVM solver against sklearn's LinearSVC, and the validation split and label draws."""

import numpy as np
import pytest

import utils.svm
from utils.errors import UserError
from utils.svm import (
    C_GRID,
    _newton_step,
    draw_per_class,
    fit_l2svm,
    fit_with_validation,
    predict,
    standardiser,
    subspace,
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


@pytest.mark.parametrize("rank", [512, 5])  # a preconditioner exact on all 20 dimensions, and on 5 of them
def test_solver_reaches_liblinears_optimum(rank):
    from sklearn.svm import LinearSVC

    features, labels = blobs(600, spread=2.5)  # overlapping classes: many examples inside the margin
    features = (features - features.mean(0)) / features.std(0)
    c = 0.05
    # A large intercept_scaling makes liblinear's penalty on the bias negligible: the same objective as ours.
    reference = LinearSVC(C=c, dual=False, tol=1e-8, max_iter=100_000, intercept_scaling=100).fit(features, labels)
    best = objective(features, labels, reference.coef_.T, reference.intercept_, c)
    space = subspace(features, rank=rank)

    tight = fit_l2svm(features, labels, c, tol=1e-6, space=space)
    default = fit_l2svm(features, labels, c, space=space)

    assert space.complete == (rank == 512)
    assert objective(features, labels, *tight[:2], c) == pytest.approx(best, rel=1e-6)
    np.testing.assert_allclose(tight[0], reference.coef_.T, atol=1e-3)
    assert objective(features, labels, *default[:2], c) == pytest.approx(best, rel=1e-3)
    predicted = default[2][(features @ default[0] + default[1]).argmax(1)]
    assert np.mean(predicted == reference.predict(features)) > 0.99


@pytest.mark.parametrize(("rows", "rank"), [(50, 512), (8, 10)])  # D = 12 <= rank, and N = 8 <= rank < D
def test_one_conjugate_gradient_step_solves_newtons_system_when_the_subspace_is_complete(rows, rank):
    rng = np.random.default_rng(rows)
    x = rng.standard_normal((rows, 12)).astype(np.float32)
    active = (rng.random((rows, 3)) < 0.5).astype(np.float32)
    active[0] = 0.0  # an example inside no margin, and a class with no active example at all
    active[:, 2] = 0.0
    grad_w, grad_b = rng.standard_normal((12, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    grad_b[2] = 0.0  # no active example: no slope for the bias
    lam, n = 0.3, rows
    space = subspace(x, rank=rank)

    step_w, step_b = _newton_step(x, space.coordinates, active, grad_w, grad_b, lam, n, space, max_cg=1)

    assert space.complete
    ones = np.hstack([x, np.ones((rows, 1))]).astype(np.float64)
    for k in range(2):  # the generalised Hessian of class k over [w, b], the bias unpenalised
        hessian = (2.0 / n) * (ones * active[:, k : k + 1]).T @ ones + lam * np.diag([1.0] * 12 + [0.0])
        exact = np.linalg.solve(hessian, -np.append(grad_w[:, k], grad_b[k]))
        np.testing.assert_allclose(np.append(step_w[:, k], step_b[k]), exact, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(step_w[:, 2], -grad_w[:, 2] / lam, rtol=1e-4)  # no data term: H = lam*I


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

    monkeypatch.setattr(utils.svm, "fit_l2svm", fake_fit)
    monkeypatch.setattr(utils.svm, "predict", fake_predict)
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


@pytest.mark.parametrize(("rows", "rank", "width"), [(50, 512, 12), (8, 10, 8)])  # identity; the 8 rows' span
def test_complete_subspace_holds_every_row(rows, rank, width):
    features = np.random.default_rng(rows).standard_normal((rows, 12)).astype(np.float32)

    space = subspace(features, rank=rank)

    assert space.complete and space.basis.shape == (12, width)
    np.testing.assert_allclose(space.basis.T @ space.basis, np.eye(width), atol=1e-5)
    np.testing.assert_allclose(space.coordinates[:, :-1] @ space.basis.T, features, atol=1e-5)
    np.testing.assert_array_equal(space.coordinates[:, -1], 1.0)


def test_truncated_subspace_finds_the_dominant_directions():
    rng = np.random.default_rng(0)
    directions = np.linalg.qr(rng.standard_normal((40, 3)))[0]
    strong = rng.standard_normal((500, 3)) * [30.0, 20.0, 10.0]
    features = (strong @ directions.T + 0.1 * rng.standard_normal((500, 40))).astype(np.float32)

    space = subspace(features, rank=3, rows=200)

    assert not space.complete and space.basis.shape == (40, 3)
    np.testing.assert_allclose(space.basis.T @ space.basis, np.eye(3), atol=1e-5)
    np.testing.assert_allclose(np.linalg.svd(directions.T @ space.basis)[1], 1.0, atol=1e-3)  # the same span
    np.testing.assert_allclose(space.coordinates[:, :-1], features @ space.basis, rtol=1e-5, atol=1e-4)


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
