"""The source projects' studies, as functions the experiment notebooks call (see notebooks/README.md).

One module per study, all re-exported here, so a notebook calls `experiments.train_for_steps(...)`:

- `fixed_steps`: training-set size at a fixed number of steps (seed 002): `epochs_for_steps`, `train_for_steps`;
- `timing`: step time of the 128x128 generators against 64x64 (seed 002: 28x and 5x): `resolution_models`,
  `time_train_steps`, `step_times`, `plot_step_times`;
- `smoothness`: smoothness of latent walks for several latent sizes (seed 002): `walk_smoothness`,
  `plot_smoothness`;
- `comparison`: the numbers and figures that tell runs apart (BatchNorm, sizes, latent sizes): `summarize_runs`,
  `format_table`, `plot_runs`;
- `attribute_classifier`: CelebA attribute classifier for vector arithmetic on faces (paper 6.3):
  `celeba_attribute_classifier` (`celeba_attributes` + `train_attribute_classifier`), `attribute_spec`.
"""

from utils.notebook.experiments.attribute_classifier import (
    BATCHNORM_MOMENTUM,
    attribute_accuracy,
    attribute_spec,
    celeba_attribute_classifier,
    celeba_attributes,
    train_attribute_classifier,
)
from utils.notebook.experiments.comparison import SATURATED, format_table, plot_runs, summarize_runs
from utils.notebook.experiments.fixed_steps import epochs_for_steps, train_for_steps
from utils.notebook.experiments.smoothness import plot_smoothness, walk_smoothness
from utils.notebook.experiments.timing import (
    RESOLUTION_BASELINE,
    plot_step_times,
    resolution_models,
    step_times,
    time_train_steps,
)

__all__ = [
    "BATCHNORM_MOMENTUM",
    "RESOLUTION_BASELINE",
    "SATURATED",
    "attribute_accuracy",
    "attribute_spec",
    "celeba_attribute_classifier",
    "celeba_attributes",
    "epochs_for_steps",
    "format_table",
    "plot_runs",
    "plot_smoothness",
    "plot_step_times",
    "resolution_models",
    "step_times",
    "summarize_runs",
    "time_train_steps",
    "train_attribute_classifier",
    "train_for_steps",
    "walk_smoothness",
]
