"""What a training run's per-batch callbacks cost per step, against `fit` with none and with Keras's stock ones.

`dcgan.py train` passes `fit` two callbacks that act after every batch: the NaN/Inf guard and, where TensorFlow
is installed, TensorBoard (`utils.training.callbacks`). This times `fit` on one batch already on the device, alternately
in one process (TensorBoard only where TensorFlow is installed, as in a training run):
- "none": no callbacks;
- "toolkit": `NonFiniteGuard` and `EpochTensorBoard` (async-safe; TensorBoard does nothing per batch);
- "stock": the same guard made synchronous and Keras's own `TensorBoard(update_freq="epoch")`, which is how the
  toolkit trained before: every step waited for the previous step's logs, and TensorBoard called
  `tf.summary.scalar` for each logged value after every batch.
Prints one JSON line: each setting's median ms per step, and the paired-median ratios toolkit/none and
stock/toolkit (of step times: above 1 is slower).

    python benchmarks/callback_overhead.py --backend jax --g-width 8 --d-width 8 --batch-size 16
    python benchmarks/callback_overhead.py --backend jax --architecture reference --image-size 64 --precision mixed_bfloat16
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.train_speed import add_model_arguments, benchmark_trainer, device_name, on_device_batches, time_fit


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser, backend="jax", architecture="paper", image_size=28, steps=100, repeats=8)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    from utils.training.callbacks import EpochTensorBoard, NonFiniteGuard
    from utils.training.train import has_tensorboard

    class SynchronousGuard(NonFiniteGuard):
        async_safe = False

    _, gan, real = benchmark_trainer(args)
    logs = Path(tempfile.mkdtemp(prefix="callback_overhead_"))
    tensorboard = has_tensorboard()
    settings = {
        "none": lambda: [],
        "toolkit": lambda: (
            [NonFiniteGuard()] + ([EpochTensorBoard(logs / "toolkit", write_graph=False)] if tensorboard else [])
        ),
        "stock": lambda: (
            [SynchronousGuard()]
            + ([keras.callbacks.TensorBoard(logs / "stock", write_graph=False)] if tensorboard else [])
        ),
    }

    batches = on_device_batches(real, args.backend)

    for make in settings.values():  # compilation, and each callback's first-use costs
        time_fit(gan, batches, args.warmup, make())
    times = {name: [] for name in settings}
    for _ in range(args.repeats):
        for name, make in settings.items():
            times[name].append(time_fit(gan, batches, args.steps, make()))
    step_ms = {name: 1000 * np.array(seconds) / args.steps for name, seconds in times.items()}
    print(
        json.dumps(
            {
                "backend": args.backend,
                "precision": args.precision,
                "architecture": args.architecture,
                "image_size": args.image_size,
                "batch_size": args.batch_size,
                "steps": args.steps,
                "repeats": args.repeats,
                "tensorboard": tensorboard,
                "ms_per_step": {name: round(float(np.median(ms)), 3) for name, ms in step_ms.items()},
                "toolkit_over_none": round(float(np.median(step_ms["toolkit"] / step_ms["none"])), 3),
                "stock_over_toolkit": round(float(np.median(step_ms["stock"] / step_ms["toolkit"])), 3),
                "device": device_name(args.backend),
                "cores": os.cpu_count(),
                "keras": keras.__version__,
                args.backend: __import__(args.backend).__version__,
            }
        )
    )


if __name__ == "__main__":
    from utils.errors import run_script

    run_script(main)
