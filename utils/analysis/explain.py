"""Explain D: Grad-CAM and guided backprop of its "real" logit on real and generated images, and its top filters.

The filters are the paper's look at D's features: guided-backprop maps of the images that activate each of the
most active filters of D's last convolution. The figures are drawn by `utils.analysis.explain_plots`.
"""

from pathlib import Path

import numpy as np

from utils.analysis.explain_plots import plot_explanations, plot_filters
from utils.analysis.gradcam import feature_index, gradcam, last_conv_index, overlay_heatmap
from utils.analysis.guided_backprop import (
    filter_guided_backprop,
    filter_scores,
    gradient_image,
    guided_backprop,
    predict,
    top_images,
)
from utils.analysis.guided_backprop import top_filters as rank_filters
from utils.data.registry import comparison_parts, dataset_spec
from utils.errors import UserError
from utils.training.samples import fake_samples


def explain_images(model, images):
    """Grad-CAM and guided backprop of D's logit for a batch of images.

    Args:
        model: a Sequential D mapping images to one logit.
        images: (N, S, S, C) floats in [-1, 1].

    Returns:
        Dict with "images", "logits" (N,), "heatmaps" (N, S, S) in [0, 1], "overlays" (N, S, S, 3) uint8
        and "guided" (N, S, S, C) display maps in [0, 1].
    """
    heatmaps, logits = gradcam(model, images)
    _, gradients = guided_backprop(model, images)
    return {
        "images": np.asarray(images),
        "logits": logits,
        "heatmaps": heatmaps,
        "overlays": overlay_heatmap(images, heatmaps),
        "guided": gradient_image(gradients),
    }


def explain_filters(model, images, k, per_filter):
    """D's top filters and guided-backprop maps of the images that activate each most (the paper's view of D).

    The filters are those of D's last convolutional features with the largest mean activation over `images`.

    Args:
        model: a Sequential D.
        images: (N, S, S, C) floats in [-1, 1], the sample that ranks filters and images.
        k: number of filters.
        per_filter: images shown per filter.

    Returns:
        List of dicts with "filter", "mean" (its mean activation over `images`), "images", "scores"
        (those images' mean activations) and "guided" (display maps in [0, 1]), best filter first.
    """
    layer = feature_index(model)
    scores = filter_scores(model, images, layer)
    filters = []
    for index in rank_filters(scores, k):
        chosen = top_images(scores, index, per_filter)
        gradients = filter_guided_backprop(model, images[chosen], layer, index)
        filters.append(
            {
                "filter": index,
                "mean": float(scores[:, index].mean()),
                "images": images[chosen],
                "scores": scores[chosen, index],
                "guided": gradient_image(gradients),
            }
        )
    return filters


def _shape(shape):
    return "x".join(str(side) for side in shape)


def _real_images(dataset, image_shape, data_dir=None, split=None, image_size=None, channels=None, sample=512, seed=0):
    """A seeded sample of `sample` real images of D's input shape.

    Args:
        dataset: dataset name (see `utils.data.registry`).
        image_shape: D's input shape (S, S, C).
        data_dir, split, image_size, channels: as `utils.data.load.load_dataset` (None: the dataset's held-out
            data, see `utils.data.registry.comparison_parts`, its own size and channels).
        sample: number of images.
        seed: seed of the sample.

    Returns:
        (min(sample, N), S, S, C) float32 images in [-1, 1].

    Raises:
        UserError: the images would not have D's input shape.
    """
    from utils.data.load import load_dataset

    name, spec = dataset_spec(dataset)
    size, channels = image_size or spec.image_size, channels or spec.channels
    if (size, size, channels) != tuple(image_shape):
        raise UserError(
            f"{name} images are {_shape((size, size, channels))} but the discriminator takes {_shape(image_shape)}; "
            "pass --image-size/--channels to match"
        )
    part = {"split": split} if split is not None else comparison_parts(name)[1]
    settings = {"data_dir": data_dir, "seed": seed, "drop_remainder": False, **part}
    data = load_dataset(name, size, channels, batch_size=min(256, sample), **settings)
    return data.sample(sample)


def explain(
    discriminator,
    generator=None,
    dataset=None,
    data_dir=None,
    split=None,
    image_size=None,
    channels=None,
    n=8,
    top_filters=8,
    per_filter=4,
    sample=512,
    seed=0,
    out=None,
):
    """Score real and generated images with D, explain its logit on a few of each, and find its top filters.

    Args:
        discriminator: a Sequential D of `utils.training.models`.
        generator: a G making images of D's input shape, or None for real images only.
        dataset: dataset name of the real images, or None for generated images only.
        data_dir, split, image_size, channels: as `utils.data.load.load_dataset`, for the real images (None:
            the dataset's held-out data, its own size and channels).
        n: images explained per kind in the figure.
        top_filters: filters of D's last convolutional features to rank.
        per_filter: top images shown per filter.
        sample: images per kind that D scores and that rank the filters (real ones if there are any).
        seed: seed of the real-image sample and of the noise.
        out: PNG path of the explanations figure; the filters figure goes to `<out stem>_filters.png`.
            None: no figures.

    Returns:
        The JSON object of `dcgan.py explain`: "real_"/"fake_" "mean_logit", "mean_d" and "images_scored" per
        kind given, "gradcam_layer", "filter_layer", "filter_images" ("real" or "generated"), "top_filters" and
        "top_filter_mean_activation" (best first), "out" and "filters_out" (the figures' paths; None without `out`).

    Raises:
        UserError: neither images are given, G and D do not fit, the real images are not of D's shape, or
            `top_filters` exceeds the filters of D's layer.
    """
    if dataset is None and generator is None:
        raise UserError("explain needs real images (--dataset), generated ones (--generator) or both")
    image_shape = tuple(discriminator.input_shape[1:])
    if generator is not None and tuple(generator.output_shape[1:]) != image_shape:
        raise UserError(
            f"generator {generator.name!r} makes {_shape(generator.output_shape[1:])} images but the "
            f"discriminator takes {_shape(image_shape)}"
        )
    layer = discriminator.layers[feature_index(discriminator)]
    if top_filters > layer.output.shape[-1]:
        raise UserError(
            f"--top-filters {top_filters} is more than the {layer.output.shape[-1]} filters of {layer.name}"
        )
    samples = {}
    if dataset is not None:
        samples["real"] = _real_images(dataset, image_shape, data_dir, split, image_size, channels, sample, seed)
    if generator is not None:
        samples["generated"] = fake_samples(generator, sample, seed=seed)[0]

    result, sections = {}, []
    for kind, images in samples.items():
        logits = predict(discriminator.layers, images).reshape(-1)
        prefix = "real" if kind == "real" else "fake"
        result[f"{prefix}_mean_logit"] = float(logits.mean())
        result[f"{prefix}_mean_d"] = float((0.5 + 0.5 * np.tanh(logits / 2)).mean())  # sigmoid, no overflow
        result[f"{prefix}_images_scored"] = len(images)
        if out is not None:
            sections.append((kind, explain_images(discriminator, images[:n])))
    source = "real" if "real" in samples else "generated"
    filters = explain_filters(discriminator, samples[source], top_filters, per_filter)
    filters_out = None
    if out is not None:
        out = Path(out)
        filters_out = out.with_name(f"{out.stem}_filters.png")
        plot_explanations(sections, out)
        plot_filters(filters, layer.name, source, filters_out)
    result.update(
        {
            "gradcam_layer": discriminator.layers[last_conv_index(discriminator)].name,
            "filter_layer": layer.name,
            "filter_images": source,
            "top_filters": [entry["filter"] for entry in filters],
            "top_filter_mean_activation": [entry["mean"] for entry in filters],
            "out": None if out is None else str(out),
            "filters_out": None if filters_out is None else str(filters_out),
        }
    )
    return result
