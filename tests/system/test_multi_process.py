"""Data-parallel training in 2 processes of one CPU device each, as on 2 machines: `dcgan.py train --data-parallel`
with KERAS_DISTRIBUTION_* (JAX) or TF_CONFIG (TensorFlow) set must train exactly like 2 devices in one process."""

import importlib.util
import json
import socket

import numpy as np
import pytest
from cli_runs import TINY_RUN, finish, start
from conftest import FASHION_MNIST_DIR, ROOT, last_line

from utils.training.callbacks import read_history

pytestmark = pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="needs Debian's Fashion-MNIST IDX files")
RUN = ("train", *TINY_RUN, "--subset", 256, "--epochs", 2, "--data-parallel")
BACKENDS = [
    pytest.param(name, marks=pytest.mark.skipif(importlib.util.find_spec(name) is None, reason=f"needs {name}"))
    for name in ("tensorflow", "jax")
]


def free_ports(count):
    """`count` distinct ports that are free on this machine now."""
    probes = [socket.socket() for _ in range(count)]
    for probe in probes:
        probe.bind(("localhost", 0))
    ports = [probe.getsockname()[1] for probe in probes]
    for probe in probes:
        probe.close()
    return ports


def cluster_of_two(backend):
    """The environments that make processes 0 and 1 on this machine one cluster of 2 on `backend`."""
    if backend == "jax":
        (port,) = free_ports(1)
        return [
            {
                "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"localhost:{port}",
                "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
                "KERAS_DISTRIBUTION_PROCESS_ID": str(process),
                "XLA_FLAGS": "--xla_force_host_platform_device_count=1",
            }
            for process in (0, 1)
        ]
    workers = [f"localhost:{port}" for port in free_ports(2)]
    return [
        {"TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": process}})}
        for process in (0, 1)
    ]


def run_two_processes(backend, out):
    """Run RUN as processes 0 and 1 of one cluster on this machine; returns their (exit code, stdout, stderr)."""
    processes = [start(*RUN, "--backend", backend, "--out", out, env=env) for env in cluster_of_two(backend)]
    return [finish(process) for process in processes]


def run_on_two_devices(backend, out):
    """Run RUN in one process over 2 CPU devices; returns its (exit code, stdout, stderr)."""
    if backend == "jax":
        env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
        return finish(start(*RUN, "--backend", backend, "--out", out, env=env))
    # TensorFlow splits its CPU into logical devices only when asked before it starts: a small wrapper does that.
    return finish(start(*RUN, "--backend", backend, "--out", out, script=ROOT / "tests" / "system" / "two_cpus.py"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_processes_train_like_two_devices_in_one(backend, tmp_path):
    results = run_two_processes(backend, tmp_path / "two_processes")
    for code, stdout, stderr in results:
        assert code == 0, stdout + stderr[-3000:]
    assert "process 1 of 2" in results[1][1]
    code, stdout, stderr = run_on_two_devices(backend, tmp_path / "one_process")
    assert code == 0, stdout + stderr[-3000:]
    assert "over 2 devices" in stdout and "process 0 of" not in stdout

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


@pytest.mark.parametrize("backend", BACKENDS)
def test_when_one_process_stops_the_other_stops_too_with_one_line_errors(backend, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{}")  # a run is there: process 0 refuses to start over it

    (code_0, _, stderr_0), (code_1, _, stderr_1) = run_two_processes(backend, out)

    assert code_0 == 2 and "already holds a run" in last_line(stderr_0)
    assert code_1 != 0 and last_line(stderr_1).startswith("error: process 1 of 2 stopped")
    assert "Traceback" not in stderr_0 + stderr_1
    assert (out / "config.json").read_text() == "{}"


def test_a_tf_config_that_is_not_json_is_refused_in_one_line(tmp_path):
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("needs tensorflow")
    code, _, stderr = finish(start(*RUN, "--out", tmp_path / "run", env={"TF_CONFIG": "{worker: 1"}))
    assert code == 2 and last_line(stderr).startswith("error: TF_CONFIG cannot be used")
    assert "Traceback" not in stderr
