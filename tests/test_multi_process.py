"""Data-parallel JAX training in 2 processes of one CPU device each, as on 2 machines: `dcgan.py train
--data-parallel` with KERAS_DISTRIBUTION_* set must train exactly like 2 devices in one process."""

import importlib.util
import socket

import numpy as np
import pytest
from cli_runs import TINY_RUN, finish, start
from conftest import FASHION_MNIST_DIR, last_line

from utils.callbacks import read_history

pytestmark = [
    pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="needs Debian's Fashion-MNIST IDX files"),
    pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs JAX"),
]
RUN = ("train", *TINY_RUN, "--subset", 256, "--backend", "jax", "--epochs", 2, "--data-parallel")


def free_port():
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def run_two_processes(out):
    """Run RUN as processes 0 and 1 of one cluster on this machine; returns their (exit code, stdout, stderr)."""
    cluster = {
        "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"localhost:{free_port()}",
        "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=1",
    }
    processes = [start(*RUN, "--out", out, env={**cluster, "KERAS_DISTRIBUTION_PROCESS_ID": str(i)}) for i in (0, 1)]
    return [finish(process) for process in processes]


def test_two_processes_train_like_two_devices_in_one(tmp_path):
    results = run_two_processes(tmp_path / "two_processes")
    for code, stdout, stderr in results:
        assert code == 0, stdout + stderr[-3000:]
    assert "process 1 of 2" in results[1][1]
    code, stdout, stderr = finish(
        start(*RUN, "--out", tmp_path / "one_process", env={"XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    )
    assert code == 0, stdout + stderr[-3000:]
    assert "over 2 devices" in stdout

    two, one = (read_history(tmp_path / name / "history.csv") for name in ("two_processes", "one_process"))
    assert [row["epoch"] for row in two] == [1, 2]  # written once, by process 0
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        np.testing.assert_allclose([row[key] for row in two], [row[key] for row in one], rtol=1e-4, err_msg=key)
    with (
        np.load(tmp_path / "two_processes/checkpoints/last.npz") as a,
        np.load(tmp_path / "one_process/checkpoints/last.npz") as b,
    ):
        assert sorted(a.files) == sorted(b.files)
        for name in a.files:
            np.testing.assert_allclose(a[name], b[name], rtol=1e-4, atol=1e-6, err_msg=name)


def test_when_one_process_stops_the_other_stops_too_with_one_line_errors(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{}")  # a run is there: process 0 refuses to start over it

    (code_0, _, stderr_0), (code_1, _, stderr_1) = run_two_processes(out)

    assert code_0 == 2 and "already holds a run" in last_line(stderr_0)
    assert code_1 != 0 and last_line(stderr_1).startswith("error: process 1 of 2 stopped")
    assert "Traceback" not in stderr_0 + stderr_1
    assert (out / "config.json").read_text() == "{}"
