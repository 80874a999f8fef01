"""Forgetting to draw a concept: find the generator filters that draw a region and drop them (paper, 6.1).

The DCGAN paper fit a logistic regression on the features of G's second-highest convolution layer to
predict whether an activation lies inside a window's bounding box, then removed every feature map with a
positive weight: the bedrooms were still drawn, with the windows gone or replaced by other objects. Here:

1. G is split at its second-highest conv layer: the activations come from the end of that layer's block
   (after its BatchNorm and ReLU), i.e. the input of G's highest conv layer (`up1_relu` at 28 pixels,
   `up3_relu` at 64); G_high is the rest of G.
2. Every spatial position of those activations is one example: its C filter values are the features,
   and its label says whether the position falls inside the concept's region. The region masks (one per
   sample, at image resolution) are averaged over each position's block of pixels; a position is
   positive when at least half of it is in the region.
3. A logistic regression (scikit-learn, features standardized, classes balanced) is fit on 3/4 of the
   samples and scored on the rest. The filters with the largest positive weights are the concept's
   filters: the `top_k` largest, or all with a weight above `threshold` (the paper: above 0).
4. The same z are drawn again with those filters' activations multiplied by 0 before G_high runs, and the
   change of the pixels inside the region is compared with the change outside it.

Masks come from a file or from a built-in rule (`forget_regions`); `forget` is the whole analysis
(`dcgan.py forget`), its figure is in `forget_plots`.
"""

import numpy as np

from utils.analysis.forget_regions import cell_fractions, check_mask_size, check_masks, parse_rule, rule_masks
from utils.errors import UserError


def _conv_indices(generator):
    """Indices in `generator.layers` of its convolution layers (plain and transposed)."""
    import keras

    kinds = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)
    return [index for index, layer in enumerate(generator.layers) if isinstance(layer, kinds)]


def split_index(generator):
    """Index in `generator.layers` of the last layer before G's highest conv layer (the split point).

    Raises:
        UserError: G has fewer than two convolution layers.
    """
    convs = _conv_indices(generator)
    if len(convs) < 2:
        raise UserError(f"generator {generator.name} has fewer than two convolution layers; nothing to split at")
    return convs[-1] - 1


def second_conv_name(generator):
    """Name of G's second-highest convolution layer (e.g. "up1")."""
    split_index(generator)  # fails clearly when there is none
    return generator.layers[_conv_indices(generator)[-2]].name


def run_layers(layers, inputs, batch_size=256):
    """Apply `layers` in order, in inference mode, to `inputs` in batches; returns a numpy array."""
    parts = []
    for start in range(0, len(inputs), batch_size):
        x = inputs[start : start + batch_size]
        for layer in layers:
            x = layer(x, training=False)
        parts.append(np.asarray(x))
    return np.concatenate(parts)


def generate_split(generator, z, dropped=()):
    """Draw images from `z` with the activations of the `dropped` filters set to 0 at the split point.

    Returns:
        (activations (N, h, w, C) at the split point, after dropping; images (N, S, S, channels)).
    """
    split = split_index(generator)
    activations = run_layers(generator.layers[: split + 1], np.asarray(z, np.float32))
    keep = np.ones(activations.shape[-1], np.float32)
    keep[list(dropped)] = 0.0
    activations = activations * keep
    return activations, run_layers(generator.layers[split + 1 :], activations)


def find_filters(activations, fractions, top_k=None, threshold=0.0, seed=0):
    """Fit the logistic regression "is this position inside the region?" and pick the concept's filters.

    Args:
        activations: (N, h, w, C) activations at the split point.
        fractions: (N, h, w) region fraction of each position (`cell_fractions`); >= 0.5 is positive.
        top_k: pick the `top_k` filters with the largest positive weights; None uses `threshold`.
        threshold: without `top_k`, pick every filter whose weight (on standardized features) is above it.
        seed: seed of the solver.

    Returns:
        dict: "filters" (chosen channel indices, largest weight first), "weights" (C,), "accuracy" on the
        held-out quarter of the samples, "baseline" (accuracy of always answering the majority class there).

    Raises:
        UserError: the region covers no position or every position of the fitted samples.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    count, channels = len(activations), activations.shape[-1]
    if count < 2:
        raise UserError("at least 2 samples are needed: 3/4 to fit the regression, 1/4 to score it")
    features = activations.reshape(count, -1, channels).astype(np.float64)
    labels = fractions.reshape(count, -1) >= 0.5
    fit = max(1, min(count - 1, round(0.75 * count)))
    if labels[:fit].all() or not labels[:fit].any():
        share = "every" if labels[:fit].all() else "no"
        raise UserError(f"the region covers {share} position of the {fit} fitted samples; nothing to tell apart")
    scaler = StandardScaler().fit(features[:fit].reshape(-1, channels))
    regression = LogisticRegression(class_weight="balanced", max_iter=2000, random_state=seed)
    regression.fit(scaler.transform(features[:fit].reshape(-1, channels)), labels[:fit].reshape(-1))
    held_out, truth = scaler.transform(features[fit:].reshape(-1, channels)), labels[fit:].reshape(-1)
    weights = regression.coef_[0]
    order = [int(index) for index in np.argsort(-weights) if weights[index] > 0]
    filters = order[:top_k] if top_k is not None else [index for index in order if weights[index] > threshold]
    return {
        "filters": filters,
        "weights": weights,
        "accuracy": float(np.mean(regression.predict(held_out) == truth)),
        "baseline": float(max(truth.mean(), 1 - truth.mean())),
    }


def forget_effect(before, after, fractions, masks):
    """Numbers of the effect of dropping filters: activations and pixels inside the region vs outside.

    Args:
        before, after: (activations, images) pairs of `generate_split` without and with the dropped filters.
        fractions: (N, h, w) region fractions of the layer positions; >= 0.5 is inside.
        masks: (N, S, S) bool region masks of the images.

    Returns:
        dict of mean activations (over all filters) inside/outside the region before/after, and mean
        absolute pixel change (on G's [-1, 1] scale, mean over channels) inside and outside.
    """
    inside = fractions >= 0.5
    change = np.abs(after[1] - before[1]).mean(axis=-1)

    def mean(values, where):
        return float(values[where].mean()) if where.any() else float("nan")

    return {
        "mean_activation_in_region_before": mean(before[0], inside),
        "mean_activation_in_region_after": mean(after[0], inside),
        "mean_activation_outside_before": mean(before[0], ~inside),
        "mean_activation_outside_after": mean(after[0], ~inside),
        "pixel_change_in_region": mean(change, masks),
        "pixel_change_outside": mean(change, ~masks),
        "mean_pixel_in_region_before": mean(before[1].mean(axis=-1), masks),
        "mean_pixel_in_region_after": mean(after[1].mean(axis=-1), masks),
    }


def forget(
    generator, masks=None, rule=None, n=256, seed=0, top_k=None, threshold=0.0, out=None, masks_name=None, log=print
):
    """Find the filters that draw a region, drop them and draw the same z again (`dcgan.py forget`).

    Args:
        generator: a Keras generator with two or more convolution layers.
        masks: (n, S, S) or (n, S, S, 1) region masks of the n samples, at the images' size; or None with `rule`.
        rule: instead of masks, the text of a rule: "bright:T" or "box:TOP,LEFT,BOTTOM,RIGHT" (`parse_rule`).
        n: number of samples, drawn from z of `seed` (as `dcgan.py sample`).
        seed: seed of the noise.
        top_k: drop the `top_k` filters with the largest positive weights; None drops every filter whose
            weight is above `threshold`.
        threshold: without `top_k`, the weight a dropped filter must pass (0, as the paper).
        out: PNG to write the regions, before and after grids to; None writes no figure.
        masks_name: how error messages name the masks (the command line passes their file).
        log: called with the line saying where the figure went.

    Returns:
        The JSON of `dcgan.py forget`: "layer", "activation" (the split point), "filters", "dropped_filters",
        "logreg_accuracy", "logreg_baseline", "region_fraction", the numbers of `forget_effect` and "n".

    Raises:
        UserError: both or neither of masks and rule, masks of another shape, a bad rule, or nothing to learn.
    """
    from utils.training.samples import sample_latent

    if (masks is None) == (rule is None):
        raise UserError("give either masks or a rule")
    if top_k is not None and threshold != 0.0:
        raise UserError("give top_k or threshold, not both")
    if n < 1 or (top_k is not None and top_k < 1):
        raise UserError(f"n and top_k must be positive integers, not {n} and {top_k}")
    rule = parse_rule(rule) if rule is not None else None
    masks = check_masks(masks, n, masks_name) if masks is not None else None
    z = sample_latent(n, generator.input_shape[-1], seed)
    before = generate_split(generator, z)
    if rule:
        masks = rule_masks(rule, before[1])
    else:
        check_mask_size(masks, generator.output_shape[1:], masks_name)
    fractions = cell_fractions(masks, before[0].shape[1])
    found = find_filters(before[0], fractions, top_k, threshold)
    after = generate_split(generator, z, found["filters"])
    if out is not None:
        from utils.analysis.forget_plots import draw_forget

        draw_forget(masks, before[1], after[1], found["filters"], out)
        log(f"wrote regions, before and after grids to {out}")
    return {
        "layer": second_conv_name(generator),
        "activation": generator.layers[split_index(generator)].name,
        "filters": before[0].shape[-1],
        "dropped_filters": found["filters"],
        "logreg_accuracy": found["accuracy"],
        "logreg_baseline": found["baseline"],
        "region_fraction": float(masks.mean()),
        **forget_effect(before, after, fractions, masks),
        "n": n,
    }
