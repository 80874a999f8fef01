"""Run by tests/system/test_data_parallel.py in a fresh process: train on 2 CPU devices, then report what it saw.

Usage: python tests/system/data_parallel_run.py BACKEND OUT [--single]. Prints one JSON line. On 2 devices it trains
twice, with one step per call and then two ("chunked").
"""

import json
import os
import sys
from pathlib import Path

backend, out = sys.argv[1], Path(sys.argv[2])
single = "--single" in sys.argv
os.environ["KERAS_BACKEND"] = backend
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"  # JAX: two CPU devices
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

if backend == "tensorflow":
    import tensorflow as tf
    from two_cpus import split_cpu  # this script's folder, tests/system/, is on sys.path

    split_cpu()

import keras  # noqa: E402
import numpy as np  # noqa: E402

from utils.training.backends import data_parallel  # noqa: E402
from utils.training.train import build_trainer, train  # noqa: E402

model = {"image_size": 28, "channels": 1, "latent_dim": 8, "g_width": 8, "d_width": 8, "kernel_size": 3}
config = {
    "data": {"name": "fashion_mnist", "data_dir": None, "subset": 128, "image_size": 28, "channels": 1},
    "model": model,
    "training": {"epochs": 1, "batch_size": 32, "learning_rate": 2e-4, "beta_1": 0.5, "seed": 0},
    "command": "test",
}
config["training"]["data_parallel"] = not single


def weight_sum(gan):
    return sum(float(np.abs(keras.ops.convert_to_numpy(v)).sum()) for v in gan.trainable_variables)


gan, history = train(config, out, verbose=0, log=lambda *_: None)
result = {"history": history.history, "devices": 1, "weight_sum": weight_sum(gan)}
if not single:
    config["training"]["steps_per_execution"] = 2  # the epoch's 4 steps in 2 calls
    chunked, chunked_history = train(config, out.with_name(out.name + "_chunked"), verbose=0, log=lambda *_: None)
    result["chunked"] = {"history": chunked_history.history, "weight_sum": weight_sum(chunked)}
    with data_parallel() as parallel:
        result["devices"] = parallel.devices
        from utils.training.config import ModelConfig

        fresh = build_trainer(ModelConfig(**model))
        if backend == "tensorflow":
            strategy = tf.distribute.get_strategy()
            noise = strategy.run(fresh.sample_latent, args=(4,))
            per_replica = [np.asarray(z) for z in strategy.experimental_local_results(noise)]
            result["noise_differs"] = bool(not np.allclose(per_replica[0], per_replica[1]))
            result["weights_in_sync"] = all(
                all(np.array_equal(np.asarray(copies[0]), np.asarray(copy)) for copy in copies)
                for copies in (v.value.values for v in gan.trainable_variables)
            )
            # Which batches of a stream numbered 0, 1, 2, ... the steps train on (each replica records its half).
            trained = []
            real_images = fresh.real_images

            def recording(data):
                images = real_images(data)
                tf.py_function(
                    lambda first: trained.append(round(float(first) * 127.5 + 127.5)), [images[0, 0, 0, 0]], []
                )
                return images

            fresh.real_images = recording
            numbered = np.repeat(np.arange(8, dtype=np.uint8), 32)[:, None, None, None] * np.ones(
                (1, 28, 28, 1), np.uint8
            )
            stream = ((numbered[i * 32 : (i + 1) * 32],) for i in range(8))
            fresh.fit(stream, steps_per_epoch=4, epochs=1, verbose=0)
            result["trained_batches"] = sorted(set(trained))
        else:
            import jax

            z = fresh.sample_latent(8)
            result["noise_differs"] = bool(not np.allclose(np.asarray(z)[:4], np.asarray(z)[4:]))
            result["weights_in_sync"] = all(
                len(v.value.sharding.device_set) == 2 and v.value.sharding.is_fully_replicated
                for v in gan.trainable_variables
            )
            result["jax_devices"] = len(jax.devices())
print(json.dumps(result))
