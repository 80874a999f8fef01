"""Data-parallel training on 2 CPU devices (tf.distribute on TensorFlow, keras.distribution on JAX)."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import FASHION_MNIST_DIR, ROOT

pytestmark = pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="needs Debian's Fashion-MNIST IDX files")


def run(backend, out, *flags):
    process = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "system" / "data_parallel_run.py"), backend, str(out), *flags],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.returncode == 0, process.stderr[-3000:]
    return json.loads(process.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_two_devices_train_in_sync_with_true_losses(backend, tmp_path):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    parallel = run(backend, tmp_path / "parallel")
    single = run(backend, tmp_path / "single", "--single")
    chunked = parallel["chunked"]  # the same run again with the epoch's 4 steps in 2 calls

    assert parallel["devices"] == 2
    assert parallel["weights_in_sync"], "replicas' weights must stay identical"
    assert parallel["noise_differs"], "each device must draw its own noise"
    if backend == "tensorflow":  # the steps train on the stream's first batches, none skipped
        assert parallel["trained_batches"] == [0, 1, 2, 3]
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        # Same data, same global batch: the logged values are true means (not divided by the 2 replicas).
        np.testing.assert_allclose(parallel["history"][key], single["history"][key], rtol=0.15, err_msg=key)
        # Two steps per call train as one step per call does (Keras's own loop of steps fails on TensorFlow).
        np.testing.assert_allclose(chunked["history"][key], parallel["history"][key], rtol=1e-5, err_msg=key)
    assert chunked["weight_sum"] == pytest.approx(parallel["weight_sum"], rel=1e-5)
    assert (tmp_path / "parallel" / "generator.keras").is_file()
