"""The trainer `DCGAN` for the active Keras backend: the one place where the backend's training step is chosen.

Each backend's way of taking gradients lives in its own module of this package (the training step, and
`sum_gradient` for the input gradients that Grad-CAM and guided backpropagation need); everything else
(models, data, callbacks, analysis) is backend-neutral. Set the backend with KERAS_BACKEND (or
`dcgan.py train --backend`) before Keras is first imported.
"""

import keras

if keras.backend.backend() == "jax":
    from utils.training.backends.jax import DCGAN, data_parallel, make_deterministic, sum_gradient
elif keras.backend.backend() == "torch":
    from utils.training.backends.torch import DCGAN, data_parallel, make_deterministic, sum_gradient
elif keras.backend.backend() == "tensorflow":
    from utils.training.backends.tensorflow import DCGAN, data_parallel, make_deterministic, sum_gradient
else:
    raise ImportError(
        f"the DCGAN trainer supports the tensorflow, jax and torch backends, not {keras.backend.backend()}"
    )

__all__ = ["DCGAN", "data_parallel", "make_deterministic", "sum_gradient"]
