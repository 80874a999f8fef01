"""Training diagnostics: warn when D saturates or G collapses, and log G's sample diversity every epoch."""

import math

import keras
import numpy as np


def mean_pairwise_distance(images):
    """Mean root-mean-square pixel difference over all pairs of images: 0 when they are all the same.

    Args:
        images: (N >= 2, ...) array.

    Returns:
        The mean over the N (N - 1) / 2 pairs of sqrt(mean((a - b) ** 2)), as a float.
    """
    flat = np.asarray(images, np.float64).reshape(len(images), -1)
    if len(flat) < 2:
        raise ValueError("diversity needs at least two images")
    squares = (flat**2).sum(axis=1)
    distances = np.maximum(squares[:, None] + squares[None, :] - 2.0 * flat @ flat.T, 0.0)
    upper = np.triu_indices(len(flat), k=1)
    return float(np.sqrt(distances[upper] / flat.shape[1]).mean())


class Diagnostics(keras.callbacks.Callback):
    """Each epoch, put G's diversity into the logs (so it reaches history.csv) and warn about two failures.

    D saturation: mean D(x) above `real_above` and mean D(G(z)) below `fake_below` (the logged "d_real" and
    "d_fake") for `patience` epochs in a row; G then gets almost no gradient. Generator collapse: the
    diversity of G's outputs on `fixed_noise` falls below `collapse_fraction` of its highest value so far,
    which is its value after the first epoch until G grows more diverse (a freshly initialised G draws
    nearly flat images, so the first value alone can be too small to compare with). Each warning is one
    line starting "warning:", given once per episode.

    Args:
        fixed_noise: (N >= 2, latent_dim) array, the same every epoch.
        log: where warnings go (a function of one string).
        real_above: D(x) threshold of saturation.
        fake_below: D(G(z)) threshold of saturation.
        patience: consecutive saturated epochs before the warning.
        collapse_fraction: warn when diversity < this fraction of the reference.
        reference_diversity: the highest diversity of earlier epochs (the largest value in history.csv when
            resuming a run); None starts from this run's first epoch.
        generator: the model to measure; `self.model.generator` (the `DCGAN` being trained) when None.
    """

    def __init__(
        self,
        fixed_noise,
        log=print,
        real_above=0.95,
        fake_below=0.05,
        patience=2,
        collapse_fraction=0.3,
        reference_diversity=None,
        generator=None,
    ):
        super().__init__()
        if len(fixed_noise) < 2:
            raise ValueError("fixed_noise needs at least two vectors to measure diversity")
        if patience < 1 or not 0.0 < collapse_fraction < 1.0:
            raise ValueError("patience must be >= 1 and collapse_fraction in (0, 1)")
        self.fixed_noise = np.asarray(fixed_noise, np.float32)
        self.log = log
        self.real_above = real_above
        self.fake_below = fake_below
        self.patience = patience
        self.collapse_fraction = collapse_fraction
        self.reference = reference_diversity
        self.generator = generator
        self.saturated_epochs = 0
        self.collapsed = False

    def diversity(self):
        """Mean pairwise RMS distance of G's outputs (inference mode) on the fixed noise."""
        generator = self.generator if self.generator is not None else self.model.generator
        return mean_pairwise_distance(keras.ops.convert_to_numpy(generator(self.fixed_noise, training=False)))

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        diversity = self.diversity()
        logs["diversity"] = diversity  # the same dict reaches the callbacks after this one (History)
        self._check_saturation(epoch, logs)
        if math.isfinite(diversity):
            self._check_collapse(epoch, diversity)

    def _check_saturation(self, epoch, logs):
        real, fake = logs.get("d_real"), logs.get("d_fake")
        if real is None or fake is None:
            return
        if float(real) > self.real_above and float(fake) < self.fake_below:
            self.saturated_epochs += 1
        else:
            self.saturated_epochs = 0
        if self.saturated_epochs == self.patience:
            self.log(
                f"warning: D saturates at epoch {epoch + 1}: mean D(x) {float(real):.3f} > {self.real_above} and "
                f"mean D(G(z)) {float(fake):.3f} < {self.fake_below} for {self.patience} epochs in a row, so G "
                "gets almost no gradient (try a lower D learning rate, --d-dropout, or an earlier checkpoint)"
            )

    def _check_collapse(self, epoch, diversity):
        if self.reference is None or diversity > self.reference:
            self.reference = diversity
        threshold = self.collapse_fraction * self.reference
        if diversity < threshold and not self.collapsed:
            self.collapsed = True
            self.log(
                f"warning: generator collapse at epoch {epoch + 1}: diversity of the fixed-noise samples is "
                f"{diversity:.4f}, below {self.collapse_fraction:g} x {self.reference:.4f} (its highest value so far); "
                "G draws nearly the same image for every z"
            )
        elif diversity >= threshold:
            self.collapsed = False
