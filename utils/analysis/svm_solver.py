"""The Newton-CG solver of `utils.analysis.svm`: one-vs-rest linear L2-SVMs on float32 features, all classes at once.

It minimises, for every class k separately (one-vs-rest),

    0.5 * ||w_k||^2 + C * sum_i max(0, 1 - y_ik * (x_i . w_k + b_k))^2,    y_ik = +1 if x_i is of class k else -1,

which is sklearn's `LinearSVC(loss="squared_hinge", penalty="l2")` except that the bias is not penalised.
It works on float32 arrays with BLAS products for all classes at once. A Newton step only
involves the examples inside some class's margin. Its conjugate gradients are preconditioned, per class, by the
exact Hessian on the bias and a subspace of at most `RANK` leading directions of X^T X (one step of randomised
subspace iteration on `GRAM_ROWS` examples), and by the Hessian's diagonal outside that subspace; when the subspace
holds every example (D <= RANK or N <= RANK) the preconditioner is the Hessian and one CG step solves each system.

Measured on a 2-core machine shared with other jobs (load average about 2; timings vary by a third), on the
54,000 x 6,144 Fashion-MNIST features of the paper-width D with the C search of `fit_with_validation`: the previous
solver (preconditioned by a float64 eigendecomposition of X^T X; all five C) took 423 s, of which 57 s for X^T X
and its eigendecomposition and 29, 33, 58, 74 and 162 s for C * N = 0.1 to 1000 (734 s at load 5). This one takes
80 to 100 s: 7 s for the subspace, then four C (the search stops after the fall at C * N = 100) in 15 Newton
steps with 75 CG steps in all; the validation accuracies agree to 0.0005 and the test accuracy is 0.9087 against
0.9086. One primal LinearSVC fit (liblinear: one thread, its own double-precision copy of the data) on these
54,000 examples took 15 minutes.
"""

import dataclasses

import numpy as np

from utils.errors import UserError

# The preconditioner is exact on a subspace of at most RANK directions, estimated from GRAM_ROWS examples.
RANK = 512
GRAM_ROWS = 10_000


@dataclasses.dataclass
class Subspace:
    """The solver's preconditioner data for one standardised feature matrix X (N, D).

    Attributes:
        basis: (D, R) float32 orthonormal columns spanning X's dominant directions.
        coordinates: (N, R + 1) float32, X @ basis with a column of ones (the bias) appended.
        complete: whether every row of X lies in the span of `basis`.
    """

    basis: np.ndarray
    coordinates: np.ndarray
    complete: bool


def _orthonormal(columns):
    """An orthonormal float32 basis of the span of `columns` (D, R), from the eigenvectors of its Gram, twice."""
    for _ in range(2):  # the second pass restores orthogonality lost to rounding
        columns = np.asarray(columns, np.float64)
        values, vectors = np.linalg.eigh(columns.T @ columns)
        keep = values > values.max(initial=0.0) * 1e-12
        columns = columns @ (vectors[:, keep] / np.sqrt(values[keep]))
    return columns.astype(np.float32)


def subspace(features, rank=RANK, rows=GRAM_ROWS, seed=0):
    """The dominant subspace of standardised `features`, where the solver's preconditioner is the exact Hessian.

    Args:
        features: (N, D) float32 standardised features.
        rank: most basis vectors. With min(N, D) <= rank the basis spans every row (the identity when
            D <= rank); otherwise it holds `rank` leading directions of X^T X from one step of randomised
            subspace iteration.
        rows: X^T X is estimated from at most this many evenly spaced rows.
        seed: seed of the random start of the subspace iteration.

    Returns:
        A `Subspace`.
    """
    x = np.asarray(features, np.float32)
    n, d = x.shape
    if d <= rank:
        basis = np.eye(d, dtype=np.float32)
    elif n <= rank:
        basis = _orthonormal(x.T)
    else:
        sample = x[np.linspace(0, n - 1, min(n, rows)).astype(int)]
        gram = sample.T @ sample
        start = np.random.default_rng(seed).standard_normal((d, rank), dtype=np.float32)
        basis = _orthonormal(gram @ _orthonormal(gram @ start))
    coordinates = np.hstack([x @ basis, np.ones((n, 1), np.float32)])
    return Subspace(basis, coordinates, min(n, d) <= rank)


def _objective(weights, margins, lam, n):
    """Per-class 0.5*lam*||w||^2 + mean squared hinge, given the margins 1 - y*score."""
    hinge = np.maximum(margins, 0.0).astype(np.float64)
    return 0.5 * lam * (weights.astype(np.float64) ** 2).sum(0) + (hinge**2).sum(0) / n


def _gradient(x, y, weights, margins, lam, n):
    """Per-class gradient (weights part (D, K), bias part (K,)) of the objective divided by C*N, over N examples."""
    slope = (-2.0 / n) * y * np.maximum(margins, 0.0)  # d(mean hinge^2)/d(score)
    return lam * weights + x.T @ slope, slope.sum(0)


def _norm(part_w, part_b):
    """Per-class Euclidean norm of a (weights, bias) pair."""
    return np.sqrt((part_w.astype(np.float64) ** 2).sum(0) + part_b.astype(np.float64) ** 2)


def _squares(x, weights, chunk=4096):
    """sum_i weights[i, k] * x[i, d]^2 as a (D, K) float32 array, a chunk of rows at a time."""
    total = np.zeros((x.shape[1], weights.shape[1]), np.float32)
    for i in range(0, len(x), chunk):
        part = x[i : i + chunk]
        total += (part * part).T @ weights[i : i + chunk]
    return total


def _newton_step(x, coordinates, active, grad_w, grad_b, lam, n, space, max_cg):
    """Approximately solve H p = -g for every class at once by preconditioned conjugate gradients.

    H is the generalised Hessian lam*I + 2/N * X_A^T X_A over the examples A inside class k's margin (and the
    unpenalised bias). The preconditioner is H itself restricted to the span of `space.basis` plus the bias
    (a (R+1)x(R+1) matrix per class, inverted), and outside that span lam plus the diagonal of 2/N * X_A^T X_A
    (just lam when the span holds every example, where X has no component outside it).

    Args:
        x: (M, D) the examples inside some class's margin; coordinates: their rows of `space.coordinates`.
        active: (M, K) float32, 1 where the example is inside class k's margin.
        grad_w, grad_b: the gradient; lam: 1 / (C*N); n: N, all training examples.
        space: the `Subspace` of the training features; max_cg: most conjugate-gradient steps.

    Returns:
        (step for the weights (D, K), step for the bias (K,)).
    """
    basis, size = space.basis, coordinates.shape[1]
    blocks = np.empty((active.shape[1], size, size))
    for k in range(active.shape[1]):
        inside = coordinates[active[:, k] > 0]
        blocks[k] = (2.0 / n) * (inside.T @ inside)
    blocks[:, :-1, :-1] += lam * np.eye(size - 1)  # the bias is not penalised ...
    blocks[:, -1, -1] = np.maximum(blocks[:, -1, -1], 2.0 / n)  # ... but keep a class with no active example invertible
    inverse = np.linalg.inv(blocks)
    outside = lam if space.complete else lam + (2.0 / n) * _squares(x, active)

    def precondition(rw, rb):
        projected = basis.T @ rw
        within = np.einsum("kij,jk->ik", inverse, np.vstack([projected, rb]))  # (R+1, K) float64
        rest = (rw - basis @ projected) / outside
        if not space.complete:
            rest -= basis @ (basis.T @ rest)
        return (basis @ within[:-1].astype(np.float32) + rest).astype(np.float32), within[-1].astype(np.float32)

    def hessian(pw, pb):
        curvature = (2.0 / n) * active * (x @ pw + pb)
        return lam * pw + x.T @ curvature, curvature.sum(0)

    goal = 0.1 * _norm(grad_w, grad_b)
    step_w, step_b = np.zeros_like(grad_w), np.zeros_like(grad_b)
    res_w, res_b = -grad_w, -grad_b
    dir_w, dir_b = z_w, z_b = precondition(res_w, res_b)
    rz = (res_w * z_w).sum(0) + res_b * z_b
    for _ in range(max_cg):
        h_w, h_b = hessian(dir_w, dir_b)
        curve = (dir_w * h_w).sum(0) + dir_b * h_b
        alpha = np.where(curve > 0, rz / np.where(curve > 0, curve, 1.0), 0.0).astype(np.float32)
        step_w, step_b = step_w + alpha * dir_w, step_b + alpha * dir_b
        res_w, res_b = res_w - alpha * h_w, res_b - alpha * h_b
        if (_norm(res_w, res_b) <= goal).all():
            break
        z_w, z_b = precondition(res_w, res_b)
        rz_new = (res_w * z_w).sum(0) + res_b * z_b
        beta = np.where(rz > 0, rz_new / np.where(rz > 0, rz, 1.0), 0.0).astype(np.float32)
        dir_w, dir_b, rz = z_w + beta * dir_w, z_b + beta * dir_b, rz_new
    return step_w, step_b


def fit_l2svm(features, labels, c, tol=1e-3, max_newton=50, max_cg=30, space=None, start=None):
    """Fit one-vs-rest linear L2-SVMs (squared hinge) on already standardised features by Newton-CG.

    Args:
        features: (N, D) float32, standardised.
        labels: (N,) integer class labels, at least two classes.
        c: regularisation constant C (as LinearSVC's; larger fits the training data more closely).
        tol: stop when each class's gradient norm is below `tol` times its value at w = 0, b = 0.
        max_newton: most Newton steps.
        max_cg: most conjugate-gradient steps per Newton step.
        space: `subspace(features)`, to reuse it across several C.
        start: (weights (D, K), bias (K,)) to start from, e.g. the fit of a neighbouring C.

    Returns:
        (weights (D, K) float32, bias (K,) float32, classes (K,)).
    """
    x = np.asarray(features, np.float32)
    classes = np.unique(labels)
    if len(classes) < 2:
        raise UserError("the SVM needs labelled examples of at least two classes")
    n, k = len(x), len(classes)
    y = np.where(np.asarray(labels)[:, None] == classes[None, :], 1.0, -1.0).astype(np.float32)
    lam = 1.0 / (c * n)  # the objective divided by C*N: 0.5*lam*||w||^2 + mean squared hinge
    space = subspace(x) if space is None else space
    w = np.zeros((x.shape[1], k), np.float32) if start is None else np.array(start[0], np.float32)
    b = np.zeros(k, np.float32) if start is None else np.array(start[1], np.float32)
    target = tol * _norm(*_gradient(x, y, np.zeros_like(w), np.ones_like(y), lam, n))
    scores = x @ w + b
    for _ in range(max_newton):
        margins = 1.0 - y * scores
        # Only examples inside some class's margin have a slope or curvature: the rest drop out of the step.
        inside = np.flatnonzero((margins > 0).any(1))
        part = x if len(inside) == n else x[inside]
        grad_w, grad_b = _gradient(part, y[inside], w, margins[inside], lam, n)
        if (_norm(grad_w, grad_b) <= target).all():
            break
        active = (margins[inside] > 0).astype(np.float32)
        step_w, step_b = _newton_step(part, space.coordinates[inside], active, grad_w, grad_b, lam, n, space, max_cg)
        # Backtracking line search per class on the exact (piecewise quadratic) objective.
        delta = x @ step_w + step_b
        before = _objective(w, margins, lam, n)
        slope = (grad_w * step_w).sum(0) + grad_b * step_b
        t = np.ones(k, np.float32)
        for _ in range(30):
            ok = _objective(w + t * step_w, 1.0 - y * (scores + t * delta), lam, n) <= before + 1e-4 * t * slope
            if ok.all():
                break
            t = np.where(ok, t, t / 2).astype(np.float32)
        w, b, scores = w + t * step_w, b + t * step_b, scores + t * delta
    return w, b, classes
