"""What bounds the TensorFlow training step: Keras `fit` against the same step in a bare loop and hand-written code.

Four ways to train the same models on one batch already on the device, timed alternately in one process:
  fit               `DCGAN.fit`, as users train (XLA as the toolkit compiles it: on, also on CPUs; with
                    --steps-per-execution K, K steps per call);
  loop              the toolkit's own `train_step` as one `tf.function` (XLA as in fit) in a plain Python loop;
  hand_written      tf_reference.py's hand-written `tf.function` step (the TensorFlow tutorial's loop, no XLA);
  hand_written_xla  the same step compiled with XLA.
fit ~ loop means Keras adds nothing; loop against hand_written_xla compares the two steps' own work. XLA_FLAGS
(for instance --xla_cpu_enable_fast_math=true) apply to every XLA-compiled way. Prints one JSON line: each way's
median ms per step, and its speed against hand_written (the median of the repeats' paired ratios; above 1 is
faster).

    python benchmarks/tf_bounds.py --architecture paper --image-size 28 --g-width 32 --d-width 32 --batch-size 64
"""

import argparse
import json
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.tf_reference import loop_timer, tensorflow_reference
from benchmarks.train_speed import add_model_arguments, benchmark_trainer, on_device_batches, time_fit


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser, steps=40, repeats=8, backends=["tensorflow"])
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf

    config, gan, real = benchmark_trainer(args)
    batches = on_device_batches(real, "tensorflow")
    time_fit(gan, batches, args.warmup)

    step = tf.function(gan.train_step, jit_compile=gan.jit_compile)
    ways = {
        "fit": lambda: time_fit(gan, batches, args.steps),
        "loop": loop_timer(lambda: step((real,)), args.steps, args.warmup),
        "hand_written": tensorflow_reference(config, real, args),
        "hand_written_xla": tensorflow_reference(config, real, args, jit_compile=True),
    }
    seconds = {name: [] for name in ways}
    for _ in range(args.repeats):
        for name, measure in ways.items():
            seconds[name].append(measure())
    times = {name: np.array(values) for name, values in seconds.items()}
    result = {
        "architecture": args.architecture,
        "image_size": args.image_size,
        "channels": config.channels,
        "batch_size": args.batch_size,
        "precision": args.precision,
        "reuse_fakes": args.reuse_fakes,
        "steps_per_execution": args.steps_per_execution,
        "steps": args.steps,
        "repeats": args.repeats,
        "jit_compile": bool(gan.jit_compile),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "ms_per_step": {name: round(1000 * float(np.median(t)) / args.steps, 2) for name, t in times.items()},
        "speed_against_hand_written": {
            name: round(float(np.median(times["hand_written"] / t)), 3) for name, t in times.items()
        },
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    from utils.errors import run_script

    run_script(main)
