"""The DCGAN toolkit: data, training, analysis, and the command line and notebooks built on them.

Packages, each importing only from the ones listed before it (checked by tests/test_layers.py):

- the helpers at this level, which every layer uses: `errors` (one-line user errors), `files` (crash-safe
  writes), `images` (pixel scaling, grids, GIFs), `plots` (loss curves);
- `data`: the dataset registry and sources (IDX files, image folders, tensorflow-datasets), image checks and the
  per-epoch stream of batches;
- `training`: model settings and builders, losses, the trainer with one step module per Keras backend,
  callbacks, checkpoints, saving, diagnostics and interrupts, and `train`, a whole run;
- `analysis`: what a trained model shows: latent walks, vector arithmetic, Grad-CAM, guided backprop, D's
  features and the linear SVM, nearest neighbours, FID/KID and its classifier, "forgetting to draw";
- `cli` and `notebook`: `dcgan.py`'s subcommands, and the notebooks' setup, publishing and studies.

The design card's helpers are importable from here under their plain names (`from utils import fake_samples`);
they load on first use, so `import utils` stays free of TensorFlow and Keras.
"""

import importlib

# Plain name -> (module, attribute) of the design card's helpers.
_HELPERS = {
    "sample_latent": ("utils.training.samples", "sample_latent"),
    "true_samples": ("utils.training.samples", "true_samples"),
    "fake_samples": ("utils.training.samples", "fake_samples"),
    "scale": ("utils.images", "to_unit_range"),
    "scale_back": ("utils.images", "to_uint8"),
    "plot_losses": ("utils.plots", "plot_history"),
    "grad_cam": ("utils.analysis.gradcam", "gradcam"),
    "guided_backprop": ("utils.analysis.guided_backprop", "guided_backprop"),
}

__all__ = sorted(_HELPERS)


def __getattr__(name):
    if name not in _HELPERS:
        raise AttributeError(f"module 'utils' has no attribute {name!r}")
    module, attribute = _HELPERS[name]
    return getattr(importlib.import_module(module), attribute)
