"""The benchmark scripts as the GPU sessions run them (in a subprocess), at tiny sizes on the CPU.

A GPU session has a few minutes of device time; a script broken by a change elsewhere would waste them. Each run
imports TensorFlow or JAX (~8 s) and compiles a step, so the module starts them all at once in a small pool. The
GPU shell scripts run with a stand-in for `python` that only parses each command's options.
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
from conftest import FASHION_MNIST_DIR, ROOT, concurrent, last_line

TINY = ("--architecture", "paper", "--image-size", 28, "--g-width", 4, "--d-width", 4, "--batch-size", 8)
RUNS = {
    "tensorflow": ("train_speed.py", "--backend", "tensorflow", *TINY, "--steps", 2, "--warmup", 1, "--repeats", 2),
    "jax_input": (
        *("train_speed.py", "--backend", "jax", *TINY, "--steps", 2, "--warmup", 1, "--repeats", 1),
        *("--input", "fashion_mnist", "--data-dir", FASHION_MNIST_DIR, "--d-calls", "one", "--reuse-fakes"),
    ),
    "callbacks": (
        "callback_overhead.py",
        "--backend",
        "tensorflow",
        *TINY,
        "--steps",
        2,
        "--warmup",
        1,
        "--repeats",
        2,
    ),
    "folder": ("folder_decode.py", "--count", 12, "--image-size", 28, "--workers", 0, 1, "--repeats", 1),
    "tf_bounds": ("tf_bounds.py", *TINY, "--steps", 2, "--warmup", 1, "--repeats", 1, "--steps-per-execution", 2),
    "jax_bounds": ("jax_bounds.py", "--architecture", "paper", "--image-size", 28, "--batch-size", 8, "--steps", 2),
    "bad_size": ("train_speed.py", "--image-size", 30),
    "bad_steps": ("callback_overhead.py", "--steps", 0),
    "bad_chunks": ("tf_bounds.py", *TINY, "--steps", 5, "--steps-per-execution", 2),
}
HAS_TORCH = importlib.util.find_spec("torch") is not None
if HAS_TORCH:
    RUNS["torch"] = ("torch_reference.py", "--batch-size", 2, "--steps", 1, "--warmup", 1, "--repeats", 1)


def run_benchmark(script, *args):
    """Run `python benchmarks/SCRIPT ARGS` from the repository root; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *map(str, args)],
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "DCGAN_XLA": "auto"},  # time the default step
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def runs():
    """A mapping whose `[name]` waits for that run of `RUNS` (all started at once) and gives its CompletedProcess."""
    with concurrent(run_benchmark, RUNS) as results:
        yield results


def result(run):
    """The JSON line a benchmark prints last, after checking that it succeeded."""
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(last_line(run.stdout))


def test_train_speed_compares_the_toolkit_with_the_hand_written_loop(runs):
    line = result(runs["tensorflow"])
    assert line["backend"] == "tensorflow" and line["device"] == "cpu" and line["jit_compile"] is True
    assert line["images_per_s"] > 0 and line["reference_images_per_s"] > 0
    # Best against best: the images/s are rounded to 0.1.
    assert line["ratio"] == pytest.approx(line["images_per_s"] / line["reference_images_per_s"], abs=0.002)
    assert line["ratio_median"] > 0


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason=f"Fashion-MNIST IDX files not in {FASHION_MNIST_DIR}")
def test_train_speed_times_the_real_input_path_on_jax(runs):
    line = result(runs["jax_input"])
    assert line["backend"] == "jax" and line["one_d_call"] is True and line["reuse_fakes"] is True
    assert line["input"].startswith(f"IDX files in {FASHION_MNIST_DIR}")
    assert line["load_s"] >= 0 and line["images_per_s"] > 0
    assert "ratio" not in line  # the hand-written loop is TensorFlow's and trains on one on-device batch


def test_callback_overhead_times_each_setting(runs):
    line = result(runs["callbacks"])
    assert line["tensorboard"] is True  # TensorFlow is installed, as in a training run here
    assert set(line["ms_per_step"]) == {"none", "toolkit", "stock"}
    assert min(line["ms_per_step"].values()) > 0 and line["stock_over_toolkit"] > 0


def test_folder_decode_counts_every_image(runs):
    line = result(runs["folder"])
    assert line["images"] == 12 and line["usable_cpus"] >= 1
    default = f"{line['usable_cpus']} thread(s), default"
    assert set(line["images_per_s"]) == {default, "1 thread(s)"}
    assert line[f"against {default}"][default] == 1.0


def test_tf_bounds_times_fit_the_bare_step_and_the_hand_written_one(runs):
    line = result(runs["tf_bounds"])
    assert line["steps_per_execution"] == 2 and line["jit_compile"] is True
    ways = {"fit", "loop", "hand_written", "hand_written_xla"}
    assert set(line["ms_per_step"]) == set(line["speed_against_hand_written"]) == ways
    assert min(line["ms_per_step"].values()) > 0 and line["speed_against_hand_written"]["hand_written"] == 1.0


def test_jax_bounds_times_fit_loop_and_fused_steps(runs):
    line = result(runs["jax_bounds"])
    assert line["precision"] == "mixed_bfloat16" and line["batch_size"] == 8
    assert min(line["fit_images_per_s"], line["loop_images_per_s"], line["fused_images_per_s"]) > 0


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")
def test_torch_reference_runs(runs):
    line = result(runs["torch"])
    assert line["batch_size"] == 2 and line["images_per_s"] > 0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad_size", "error: unsupported image size 30; choose one of 28, 32, 64, 128"),
        ("bad_steps", "error: argument --steps: must be a positive integer, not 0"),
        ("bad_chunks", "error: --steps 5 must be a multiple of --steps-per-execution 2"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(runs, name, message):
    run = runs[name]
    assert run.returncode == 2
    assert last_line(run.stderr).endswith(message)
    assert "Traceback" not in run.stderr


def test_gpu_scripts_pass_only_options_their_scripts_take(tmp_path):
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ROOT / "tests" / "system" / "check_arguments.py"}" "$@"\n')
    python.chmod(0o755)
    log = tmp_path / "commands.log"
    env = {**os.environ, "PYTHON": str(python), "CHECK_LOG": str(log)}
    subprocess.run(["bash", "benchmarks/gpu_suite.sh", str(tmp_path / "out")], cwd=ROOT, env=env, timeout=300)
    commands = [line for line in log.read_text().splitlines() if line != "skipped -c"]
    # Without PyTorch, torch_reference.py cannot even be imported to parse its options.
    unchecked = () if HAS_TORCH else ("unchecked benchmarks/torch_reference.py",)
    assert [line for line in commands if not line.startswith(("ok ", *unchecked))] == []
    scripts = {line.split()[1] for line in commands}
    assert scripts == {
        "dcgan.py",
        "benchmarks/train_speed.py",
        "benchmarks/torch_reference.py",
        "benchmarks/folder_decode.py",
        "benchmarks/callback_overhead.py",
    }
    assert len(commands) >= 20


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--samples", 1), "error: argument --samples: must be at least 2, not 1"),
        (("--torch-python", "/nonexistent/python"), "error: --torch-python /nonexistent/python cannot run: "),
        (("--classifier", "missing.keras"), "error: classifier file missing.keras does not exist"),
    ],
)
def test_quality_refuses_bad_input_before_training(flags, message):
    run = run_benchmark("quality.py", *flags)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert message in last_line(run.stderr)


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason=f"Fashion-MNIST IDX files not in {FASHION_MNIST_DIR}")
def test_quality_scores_the_toolkit_and_the_reference_at_equal_epochs_and_time():
    torch_python = os.environ.get("TORCH_PYTHON", sys.executable)  # a Python with PyTorch runs the reference
    if subprocess.run([torch_python, "-c", "import torch"], capture_output=True, timeout=120).returncode:
        pytest.skip(f"PyTorch is not importable by {torch_python} (TORCH_PYTHON names a Python that has it)")
    tiny = ("--subset", 64, "--epochs", 1, "--batch-size", 16, "--width", 4, "--samples", 20, "--seconds", 2)
    line = result(run_benchmark("quality.py", *tiny, "--data-dir", FASHION_MNIST_DIR, "--torch-python", torch_python))
    assert line["images"] == 64 and line["seconds"] == 2 and line["commit"] and line["machine"]["cores"] >= 1
    for name in ("equal_epochs", "equal_time"):
        scores = line[name]
        assert min(scores["fid_toolkit"], scores["fid_reference"], scores["fid_floor"]) > 0
        assert scores["fid_ratio"] == pytest.approx(scores["fid_toolkit"] / scores["fid_reference"], rel=1e-3)
        assert {"kid_toolkit", "kid_reference", "kid_floor"} <= set(scores)
    assert line["equal_epochs"]["toolkit"]["steps"] == line["equal_epochs"]["reference"]["steps"] == 4
    assert min(line["equal_time"]["toolkit"]["seconds"], line["equal_time"]["reference"]["seconds"]) >= 2
