"""The Newton-CG L2-SVM solver against sklearn's LinearSVC and the exact Newton step; its subspace preconditioner."""

import numpy as np
import pytest
from test_svm import blobs

from utils.analysis.svm_solver import _newton_step, fit_l2svm, subspace
from utils.errors import UserError


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


def test_one_class_is_refused():
    with pytest.raises(UserError, match="two classes"):
        fit_l2svm(np.ones((5, 2), np.float32), np.zeros(5, int), 1.0)
