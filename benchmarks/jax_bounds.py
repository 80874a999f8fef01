"""What bounds the JAX training step: Keras `fit` against the same jitted step in a bare loop and K steps fused.

Three ways to run the toolkit's own JAX `train_step` (utils/training/backends/jax.py) on one on-device batch:
  fit    `DCGAN.fit`, as users train (Python per step: callbacks, logs, data iterator);
  loop   `jax.jit(train_step)` called in a plain Python loop (JAX dispatches asynchronously);
  fused  `steps` steps inside one `jax.lax.fori_loop` in one jitted call (one launch of the whole program).
fit ~ loop means Keras adds nothing; fused >> loop means per-step dispatch bounds the step. Prints one JSON line
per setting.

    python benchmarks/jax_bounds.py --batch-size 128 1024 --precision float32 mixed_bfloat16
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def parse_args(argv=None):
    from utils.cli.flags import positive_int

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--architecture", default="reference")
    parser.add_argument("--image-size", type=positive_int, default=64)
    parser.add_argument("--batch-size", type=positive_int, nargs="+", default=[128])
    parser.add_argument("--precision", nargs="+", default=["mixed_bfloat16"])
    parser.add_argument("--batchnorm", choices=["both", "none"], default="both")
    parser.add_argument("--reuse-fakes", action="store_true", help="the G step on the D step's generated images")
    parser.add_argument("--steps", type=positive_int, default=50)
    parser.add_argument("--repeats", type=positive_int, default=2)
    return parser.parse_args(argv)


def best_time(run, repeats):
    run()  # compile and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(args, batch_size, precision):
    import jax
    import keras
    import numpy as np

    from utils.training.config import model_config
    from utils.training.train import build_trainer

    channels = 1 if args.image_size == 28 else 3
    settings = {"g_batchnorm": False, "d_batchnorm": False} if args.batchnorm == "none" else {}
    config = model_config(args.architecture, image_size=args.image_size, channels=channels, **settings)
    keras.utils.set_random_seed(0)
    gan = build_trainer(config, precision=precision, reuse_fakes=args.reuse_fakes)
    shape = (batch_size, args.image_size, args.image_size, channels)
    real = jax.device_put(np.random.default_rng(0).uniform(-1, 1, shape).astype("float32"))

    def forever():
        while True:
            yield (real,)

    batches = forever()

    def fit():
        history = gan.fit(batches, steps_per_epoch=args.steps, epochs=1, verbose=0)
        float(history.history["g_loss"][-1])

    fit_s = best_time(fit, args.repeats)

    state = tuple(
        [variable.value for variable in group]
        for group in (
            gan.trainable_variables,
            gan.non_trainable_variables,
            gan.optimizer.variables,
            gan.metrics_variables,
        )
    )
    step = jax.jit(gan.train_step, donate_argnums=0)

    def fused_steps(state, images):
        return jax.lax.fori_loop(0, args.steps, lambda _, carry: gan.train_step(carry, (images,))[1], state)

    fused = jax.jit(fused_steps, donate_argnums=0)
    holder = {"state": state}

    def loop():
        current = holder["state"]
        for _ in range(args.steps):
            _, current = step(current, (real,))
        jax.block_until_ready(current)
        holder["state"] = current

    loop_s = best_time(loop, args.repeats)

    def fused_run():
        holder["state"] = jax.block_until_ready(fused(holder["state"], real))

    fused_s = best_time(fused_run, args.repeats)
    images = batch_size * args.steps
    return {
        "architecture": args.architecture,
        "image_size": args.image_size,
        "batchnorm": args.batchnorm,
        "reuse_fakes": args.reuse_fakes,
        "one_d_call": gan.one_d_call,
        "precision": precision,
        "batch_size": batch_size,
        "steps": args.steps,
        "fit_images_per_s": round(images / fit_s, 1),
        "loop_images_per_s": round(images / loop_s, 1),
        "fused_images_per_s": round(images / fused_s, 1),
        "step_ms_fused": round(1000 * fused_s / args.steps, 3),
        "device": jax.devices()[0].device_kind,
        "jax": jax.__version__,
    }


def main(argv=None):
    args = parse_args(argv)
    os.environ["KERAS_BACKEND"] = "jax"
    for precision in args.precision:
        for batch_size in args.batch_size:
            print(json.dumps(measure(args, batch_size, precision)), flush=True)


if __name__ == "__main__":
    from utils.errors import run_script

    run_script(main)
