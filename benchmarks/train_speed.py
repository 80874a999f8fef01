"""Training speed of the toolkit's trainer on any Keras backend; on TensorFlow also against a hand-written loop.

The toolkit's `DCGAN.fit` trains on one batch of random images already on the device (no input pipeline;
`--input` times the real ones), with the step of the paper: one D update on real + generated images, one G
update on fresh noise (`--reuse-fakes`: on the D step's images), Adam(2e-4, 0.5), BCE on logits. On
TensorFlow the same models also run in a hand-written `tf.function` loop of the same step in the same
invocation (the TensorFlow DCGAN tutorial's loop), alternating measurements. Prints one JSON line: images_per_s,
and on TensorFlow reference_images_per_s, ratio (best against best) and ratio_median (of the repeats' ratios).

    python benchmarks/train_speed.py --backend tensorflow --image-size 28 --batch-size 128 --steps 30
    python benchmarks/train_speed.py --backend jax --architecture reference --precision mixed_bfloat16 --batch-size 1024
    python benchmarks/train_speed.py --backend jax --input fashion_mnist --image-size 28 --batch-size 1024
    python benchmarks/train_speed.py --backend jax --architecture reference --precision mixed_bfloat16 --reuse-fakes
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def add_model_arguments(
    parser, backend="tensorflow", architecture="reference", image_size=64, steps=20, repeats=3, backends=None
):
    """Add the options the speed scripts share (backend, precision, model, batch, timing) with these defaults;
    `backends` limits the choice of backend (default: every Keras backend)."""
    from utils.cli.flags import positive_int
    from utils.training.config import BACKENDS, PRECISIONS

    parser.add_argument("--backend", default=backend, choices=backends or BACKENDS, help="Keras backend")
    parser.add_argument("--precision", default="float32", choices=PRECISIONS)
    parser.add_argument("--image-size", type=positive_int, default=image_size)
    parser.add_argument("--channels", type=int, choices=[1, 3], help="default: 1 for 28-pixel images, else 3")
    parser.add_argument("--architecture", default=architecture)
    parser.add_argument("--g-width", type=positive_int)
    parser.add_argument("--d-width", type=positive_int)
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument(
        "--reuse-fakes",
        action="store_true",
        help="the G step reuses the D step's generated images, as the PyTorch reference does",
    )
    parser.add_argument(
        "--steps-per-execution", type=positive_int, default=1, help="steps per call of fit's train function"
    )
    parser.add_argument("--steps", type=positive_int, default=steps, help="timed steps per measurement")
    parser.add_argument("--warmup", type=positive_int, default=3, help="untimed steps first (compilation)")
    parser.add_argument("--repeats", type=positive_int, default=repeats, help="measurements of each setting")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument(
        "--input",
        metavar="DATASET",
        help="train from this dataset through the toolkit's input path (uint8 batches from memory, a prefetch "
        "thread) instead of one on-device batch; e.g. fashion_mnist, or folder with --data-dir",
    )
    parser.add_argument("--data-dir", help="data folder for --input")
    parser.add_argument("--no-reference", action="store_true", help="TensorFlow: skip the hand-written loop")
    parser.add_argument(
        "--d-calls",
        choices=["one", "two"],
        help="JAX: D's update calls D once on the real and generated batch, or once on each (default: the "
        "trainer's, one on a GPU, two on a CPU)",
    )
    args = parser.parse_args(argv)
    if args.d_calls and args.backend != "jax":
        parser.error("--d-calls is for --backend jax (only its step can call D once on both batches)")
    return args


def benchmark_trainer(args):
    """Build the compiled trainer of the model `args` describe, and one batch of random images on the device.

    Args:
        args: parsed `add_model_arguments` options; call after choosing the Keras backend.

    Returns:
        (the `ModelConfig`, the `DCGAN`, the batch as a backend tensor in [-1, 1]).
    """
    import keras
    import numpy as np

    from utils.errors import UserError
    from utils.training.config import model_config
    from utils.training.train import build_trainer

    if args.steps % args.steps_per_execution:
        raise UserError(f"--steps {args.steps} must be a multiple of --steps-per-execution {args.steps_per_execution}")
    channels = args.channels or (1 if args.image_size == 28 else 3)
    config = model_config(
        args.architecture, image_size=args.image_size, channels=channels, g_width=args.g_width, d_width=args.d_width
    )
    keras.utils.set_random_seed(0)
    gan = build_trainer(
        config, precision=args.precision, reuse_fakes=args.reuse_fakes, steps_per_execution=args.steps_per_execution
    )
    shape = (args.batch_size, args.image_size, args.image_size, channels)
    real = keras.ops.convert_to_tensor(np.random.default_rng(0).uniform(-1, 1, shape).astype("float32"))
    return config, gan, real


def on_device_batches(real, backend):
    """Endless repeats of one batch already on the device, in the form `fit` takes fastest on `backend`."""
    if backend != "tensorflow":
        return forever((real,))
    import tensorflow as tf

    # Without autotuning: its thread makes each iterator's teardown wait for its next wake-up (0 to 2 s on a
    # 2-core CPU), which would land in every timed fit() call (a training run pays it once).
    options = tf.data.Options()
    options.autotune.enabled = False
    return tf.data.Dataset.from_tensors(real).repeat().with_options(options)


def time_fit(gan, batches, steps, callbacks=None):
    """Seconds that one `gan.fit` of `steps` steps on `batches` takes, until its results are ready."""
    start = time.perf_counter()
    history = gan.fit(batches, steps_per_epoch=steps, epochs=1, callbacks=callbacks, verbose=0)
    float(history.history["g_loss"][-1])
    return time.perf_counter() - start


def forever(item):
    """A generator yielding `item` again and again (Keras' `fit` takes generators, not any iterator)."""
    while True:
        yield item


def device_name(backend):
    """The accelerator the backend computes on, or "cpu"."""
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return "cpu" if device.platform == "cpu" else device.device_kind
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU") if gpus else "cpu"


def main(argv=None):
    args = parse_args(argv)
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    from benchmarks.tf_reference import tensorflow_reference
    from utils.data.load import load_dataset

    config, gan, real = benchmark_trainer(args)
    channels = config.channels
    if args.d_calls:
        gan.one_d_call = args.d_calls == "one"
    if args.input:
        start = time.perf_counter()
        data = load_dataset(
            args.input, args.image_size, channels, batch_size=args.batch_size, data_dir=args.data_dir, seed=0
        )
        load_seconds = time.perf_counter() - start  # a folder is decoded here, once
        batches = data.epochs(0)
        source = f"{data.source}, uint8 through utils.data.load"
    else:
        batches = on_device_batches(real, args.backend)
        source = "one random batch on the device"
    time_fit(gan, batches, args.warmup)

    reference = None
    if args.backend == "tensorflow" and not args.no_reference and not args.input:
        reference = tensorflow_reference(config, real, args)
    toolkit_times, reference_times = [], []
    for _ in range(args.repeats):
        toolkit_times.append(time_fit(gan, batches, args.steps))
        if reference:
            reference_times.append(reference())
    images = args.batch_size * args.steps
    result = {
        "backend": args.backend,
        "precision": args.precision,
        "architecture": args.architecture,
        "image_size": args.image_size,
        "channels": channels,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "input": source,
        **({"load_s": round(load_seconds, 2)} if args.input else {}),
        "jit_compile": bool(gan.jit_compile),
        "reuse_fakes": args.reuse_fakes,
        "steps_per_execution": args.steps_per_execution,
        **({"one_d_call": gan.one_d_call} if args.backend == "jax" else {}),
        "images_per_s": round(images / min(toolkit_times), 1),
    }
    if reference_times:
        result["reference_images_per_s"] = round(images / min(reference_times), 1)
        result["ratio"] = round(min(reference_times) / min(toolkit_times), 3)
        # Each repeat times both loops back to back, so the median of their ratios resists the machine's swings.
        pairs = [r / t for r, t in zip(reference_times, toolkit_times, strict=True)]
        result["ratio_median"] = round(float(np.median(pairs)), 3)
    result.update(
        device=device_name(args.backend),
        cpu=platform.processor() or platform.machine(),
        cores=os.cpu_count(),
        keras=keras.__version__,
        **{args.backend: __import__(args.backend).__version__},
    )
    print(json.dumps(result))


if __name__ == "__main__":
    from utils.errors import run_script

    run_script(main)
