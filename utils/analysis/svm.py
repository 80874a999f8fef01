"""A regularised linear L2-SVM (paper section 5.1) and the label protocols used to score features with it.

For every class k separately (one-vs-rest) the SVM minimises

    0.5 * ||w_k||^2 + C * sum_i max(0, 1 - y_ik * (x_i . w_k + b_k))^2,    y_ik = +1 if x_i is of class k else -1,

which is sklearn's `LinearSVC(loss="squared_hinge", penalty="l2")` except that the bias is not penalised. The
solver is `utils.analysis.svm_solver`; this module standardises features, searches C on a validation split, and draws the
labelled examples of the paper's protocols.
"""

import dataclasses

import numpy as np

from utils.analysis.svm_solver import fit_l2svm, subspace
from utils.errors import UserError

# C values tried on the validation split, as C * N (N training examples): the objective divided by C * N is
# 0.5 / (C * N) * ||w||^2 + mean squared hinge, so a factor means the same for 1,000 and 54,000 examples.
# On the paper-width D's Fashion-MNIST features the validation accuracy peaks at 1 with 1,000 labels and at 10
# with 54,000 (raw pixels: 100), and falls beyond the peak; `fit_with_validation` stops at the first fall.
C_GRID = (0.1, 1.0, 10.0, 100.0, 1000.0)


@dataclasses.dataclass
class LinearSvm:
    """A fitted one-vs-rest linear SVM on standardised features.

    Attributes:
        weights: (D, K) float32.
        bias: (K,) float32.
        classes: (K,) the class labels in column order.
        mean: (D,) per-feature mean of the training features.
        scale: (D,) per-feature standard deviation (1 where a feature is constant).
        c: the regularisation constant it was fitted with.
    """

    weights: np.ndarray
    bias: np.ndarray
    classes: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    c: float


def standardiser(features):
    """Per-feature (mean, standard deviation) of `features`, the deviation set to 1 for constant features."""
    features = np.asarray(features, np.float32)
    mean = features.mean(0, dtype=np.float64).astype(np.float32)
    squares = features - mean  # float32 (a float64 copy of 54,000 x 6,144 features would take 2.7 GB)
    squares *= squares
    scale = np.sqrt(squares.mean(0, dtype=np.float64)).astype(np.float32)
    return mean, np.where(scale > 1e-6, scale, 1.0).astype(np.float32)


def predict(model, features):
    """Class labels that `model` (a `LinearSvm`) gives to raw (not yet standardised) `features`."""
    scores = ((np.asarray(features, np.float32) - model.mean) / model.scale) @ model.weights + model.bias
    return model.classes[scores.argmax(1)]


def fit_with_validation(train_x, train_y, val_x, val_y, c_grid=C_GRID):
    """Standardise on the training features, fit one SVM per C and keep the best on the validation split.

    Args:
        train_x: (N, D) training features; train_y: (N,) labels.
        val_x: (M, D) validation features; val_y: (M,) labels.
        c_grid: the values of C * N to try (see `C_GRID`), fitted from strong to weak regularisation, each
            fit starting from the previous one. The search stops at the first C whose validation accuracy is
            below the best so far: the weaker the regularisation, the slower the fit.

    Returns:
        (the best `LinearSvm` (the smallest C on ties), {C: validation accuracy} of the C tried).
    """
    mean, scale = standardiser(train_x)
    train = np.asarray(train_x, np.float32) - mean
    train /= scale
    space = subspace(train)
    best, scores, start = None, {}, None
    for factor in sorted(c_grid):
        c = factor / len(train)
        weights, bias, classes = fit_l2svm(train, train_y, c, space=space, start=start)
        start = (weights, bias)
        model = LinearSvm(weights, bias, classes, mean, scale, c)
        scores[c] = float((predict(model, val_x) == val_y).mean())
        if best is None or scores[c] > scores[best.c]:
            best = model
        elif scores[c] < scores[best.c]:
            break
    return best, scores


def validation_split(labels, seed, fraction=0.1, most=10_000):
    """Split training indices into (pool, validation), class-stratified and seeded.

    Args:
        labels: (N,) labels of the training set.
        seed: seed of the split.
        fraction: share of every class held out for validation (at least one example of each class).
        most: cap on the validation size (the paper's SVHN protocol holds out 10,000).

    Returns:
        (pool indices, validation indices), each sorted.
    """
    rng = np.random.default_rng(seed)
    share = min(fraction, most / len(labels))
    pool, validation = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        held = min(max(1, round(share * len(members))), len(members) - 1)
        validation.append(members[:held])
        pool.append(members[held:])
    return np.sort(np.concatenate(pool)), np.sort(np.concatenate(validation))


def draw_per_class(labels, pool, per_class, seed):
    """Draw `per_class` indices of every class from `pool`, seeded; UserError when a class has too few.

    Args:
        labels: (N,) labels of the whole training set.
        pool: indices to draw from.
        per_class: examples per class.
        seed: seed of the draw.

    Returns:
        Sorted indices, `per_class` of each class.
    """
    rng = np.random.default_rng(seed)
    pool = np.asarray(pool)
    drawn = []
    for label in np.unique(labels[pool]):
        members = pool[labels[pool] == label]
        if len(members) < per_class:
            raise UserError(
                f"--labels-per-class {per_class} is more than the {len(members)} training examples of class "
                f"{label} left after holding out the validation split"
            )
        drawn.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(drawn))
