"""What a training run's per-batch callbacks cost per step, against `fit` with none and with Keras's stock ones.

`dcgan.py train` passes `fit` two callbacks that act after every batch: the NaN/Inf guard and, where TensorFlow
is installed, TensorBoard (`utils.callbacks`). This times `fit` on one batch already on the device, alternately
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
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.train_speed import device_name, forever


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    from utils.config import BACKENDS, PRECISIONS

    parser.add_argument("--backend", default="jax", choices=BACKENDS, help="Keras backend")
    parser.add_argument("--precision", default="float32", choices=PRECISIONS)
    parser.add_argument("--architecture", default="paper")
    parser.add_argument("--image-size", type=int, default=28)
    parser.add_argument("--g-width", type=int)
    parser.add_argument("--d-width", type=int)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--reuse-fakes", action="store_true", help="the G step on the D step's generated images")
    parser.add_argument("--steps", type=int, default=100, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per setting first (compilation)")
    parser.add_argument("--repeats", type=int, default=8, help="measurements of each setting, alternating")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    from utils.callbacks import EpochTensorBoard, NonFiniteGuard
    from utils.config import model_config
    from utils.train import build_trainer

    class SynchronousGuard(NonFiniteGuard):
        async_safe = False

    channels = 1 if args.image_size == 28 else 3
    config = model_config(
        args.architecture, image_size=args.image_size, channels=channels, g_width=args.g_width, d_width=args.d_width
    )
    keras.utils.set_random_seed(0)
    gan = build_trainer(config, precision=args.precision, reuse_fakes=args.reuse_fakes)
    shape = (args.batch_size, args.image_size, args.image_size, channels)
    real = keras.ops.convert_to_tensor(np.random.default_rng(0).uniform(-1, 1, shape).astype("float32"))
    logs = Path(tempfile.mkdtemp(prefix="callback_overhead_"))
    tensorboard = importlib.util.find_spec("tensorflow") is not None
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

    def fit(callbacks, steps):
        start = time.perf_counter()
        history = gan.fit(forever((real,)), steps_per_epoch=steps, epochs=1, callbacks=callbacks, verbose=0)
        float(history.history["g_loss"][-1])  # results are ready
        return time.perf_counter() - start

    for make in settings.values():  # compilation, and each callback's first-use costs
        fit(make(), args.warmup)
    times = {name: [] for name in settings}
    for _ in range(args.repeats):
        for name, make in settings.items():
            times[name].append(fit(make(), args.steps))
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
    main()
