"""Pre-emption and determinism: real training runs killed (SIGKILL) at random moments, Ctrl-C, and resumes.

Every run is a `python dcgan.py` subprocess (a fresh process, as after a pre-emption) on the CPU with
`--deterministic`, so a run that was killed and resumed must end with exactly the weights of one that never
was. The module starts its jobs at once in a small thread pool (`jobs`); each test checks what one recorded:

- "first", "second": the same run twice, uninterrupted;
- "halves": half of the epochs, then `resume` for the rest;
- "killed": killed three times (twice at a random moment, once inside a slowed checkpoint write), resumed;
- "ctrl-c": SIGINT mid-run, then the resume command that the message printed.
"""

import json
import os
import random
import shlex
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from cli_runs import (
    STEPS_PER_EPOCH,
    TINY_RUN,
    checkpoint_arrays,
    checkpoint_epoch,
    finish,
    history_epochs,
    history_rows,
    start,
    temporaries,
    unreadable_files,
    wait_until,
)
from conftest import FASHION_MNIST_DIR, last_line

from utils.training.checkpoint import SLOW_WRITE_VARIABLE

pytestmark = pytest.mark.skipif(
    not FASHION_MNIST_DIR.is_dir(), reason=f"Fashion-MNIST IDX files not in {FASHION_MNIST_DIR}"
)

EPOCHS = 6
KILL_SEED = int(os.environ.get("DCGAN_KILL_SEED", "2024"))  # seeds the kill moments; set it to try others


def _snapshot(out, process):
    """What an interrupted run left behind."""
    return {
        "exit": process.returncode,
        "checkpoint_epoch": checkpoint_epoch(out),
        "history": history_epochs(out),
        "unreadable": unreadable_files(out),
        "temporaries": [path.name for path in temporaries(out)],
    }


def _after_next_checkpoint(out, process):
    """Wait until `process` writes its next checkpoint; returns the seconds it took."""
    began, done = time.monotonic(), checkpoint_epoch(out)

    def advanced():
        """a new checkpoint"""
        return checkpoint_epoch(out) > done

    wait_until(advanced, process)
    return time.monotonic() - began


def _kill(out, process, moment):
    process.send_signal(signal.SIGKILL)
    finish(process)
    return {"moment": moment, **_snapshot(out, process)}


def kill_and_resume(out):
    """Train, kill three times, then resume to the end.

    Returns:
        {"kills": [what each kill left], "final": (exit code, stdout, stderr) of the last resume}.
    """
    rng = random.Random(KILL_SEED)
    process = start("train", *TINY_RUN, "--epochs", EPOCHS, "--out", out)
    _after_next_checkpoint(out, process)
    epoch_s = _after_next_checkpoint(out, process)  # one epoch and its callbacks
    time.sleep(rng.uniform(0.0, epoch_s))
    kills = [_kill(out, process, "random")]

    # Inside a checkpoint write: the test hook holds the written temporary file back from its rename.
    process = start("resume", "--out", out, env={SLOW_WRITE_VARIABLE: "60"})

    def checkpoint_being_written():
        """a written temporary checkpoint file"""
        return any(path.stat().st_size > 0 for path in temporaries(out / "checkpoints") if path.exists())

    wait_until(checkpoint_being_written, process)
    kills.append(_kill(out, process, "checkpoint write"))

    process = start("resume", "--out", out)
    _after_next_checkpoint(out, process)
    time.sleep(rng.uniform(0.0, epoch_s))
    kills.append(_kill(out, process, "random"))
    return {"kills": kills, "final": finish(start("resume", "--out", out))}


def interrupt_and_resume(out):
    """Train, Ctrl-C (SIGINT) at a random moment, then run the resume command that the message gives."""
    process = start("train", *TINY_RUN, "--epochs", EPOCHS, "--out", out)
    _after_next_checkpoint(out, process)
    time.sleep(random.Random(KILL_SEED).uniform(0.0, 0.3))
    process.send_signal(signal.SIGINT)
    exit_code, stdout, stderr = finish(process)
    interrupted = {"exit": exit_code, "stdout": stdout, "stderr": stderr, **_snapshot(out, process)}
    interrupted["iterations"] = int(checkpoint_arrays(out)["g_optimizer/0000"])
    # The command the message gives, as the user would paste it.
    printed = shlex.split(last_line(stderr).split("resume with: ", 1)[-1])
    assert printed[:2] == ["python", "dcgan.py"], f"exit {exit_code}: {stderr}"
    resumed = dict(zip(("exit", "stdout", "stderr"), finish(start(*printed[2:])), strict=True))
    return {"interrupted": interrupted, "resumed": resumed}


def train(out, epochs=EPOCHS):
    return finish(start("train", *TINY_RUN, "--epochs", epochs, "--out", out))


def halves(out):
    return train(out, EPOCHS // 2), finish(start("resume", "--out", out, "--epochs", EPOCHS))


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    # The runs must take Ctrl-C as from a terminal, also when the tests run as a background job (SIGINT ignored,
    # which the runs would inherit and keep).
    sigint = signal.signal(signal.SIGINT, signal.default_int_handler)
    root = tmp_path_factory.mktemp("preemption")
    work = {"killed": kill_and_resume, "ctrl-c": interrupt_and_resume, "first": train, "second": train}
    work["halves"] = halves
    pool = ThreadPoolExecutor(max_workers=3)
    futures = {name: pool.submit(function, root / name) for name, function in work.items()}

    class Jobs:
        def __getitem__(self, name):
            return futures[name].result(), root / name

    yield Jobs()
    pool.shutdown(wait=True, cancel_futures=True)
    signal.signal(signal.SIGINT, sigint)


def assert_same_checkpoints(first, second):
    a, b = checkpoint_arrays(first), checkpoint_arrays(second)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# --- determinism -------------------------------------------------------------------------------------------


def test_two_runs_give_identical_weights(jobs):
    (first, first_out), (second, second_out) = jobs["first"], jobs["second"]
    assert first[0] == 0 and second[0] == 0, first[2] + second[2]

    assert_same_checkpoints(first_out, second_out)  # weights, both optimizers, noise generator
    assert history_rows(first_out) == history_rows(second_out)
    grid = f"samples/epoch_{EPOCHS:04d}.png"
    assert (first_out / grid).read_bytes() == (second_out / grid).read_bytes()


def test_half_then_resume_equals_straight(jobs):
    (first, resumed), out = jobs["halves"]
    (_, straight_out) = jobs["first"]
    assert first[0] == 0 and resumed[0] == 0, first[2] + resumed[2]
    assert f"resuming from epoch {EPOCHS // 2} of {EPOCHS}" in resumed[1]

    a, b = checkpoint_arrays(out), checkpoint_arrays(straight_out)
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-6, atol=1e-7, err_msg=key)
    assert int(a["g_optimizer/0000"]) == EPOCHS * STEPS_PER_EPOCH
    for row, straight_row in zip(history_rows(out), history_rows(straight_out), strict=True):
        assert row == pytest.approx(straight_row, rel=1e-6)
    assert json.loads((out / "config.json").read_text())["training"]["deterministic"] is True


# --- SIGKILL -----------------------------------------------------------------------------------------------


def test_every_kill_leaves_readable_files_and_a_complete_checkpoint(jobs):
    record, _ = jobs["killed"]
    kills = record["kills"]

    assert [kill["exit"] for kill in kills] == [-signal.SIGKILL] * 3, "a run ended before it was killed"
    for kill in kills:
        assert kill["unreadable"] == [], kill
        done = kill["checkpoint_epoch"]
        assert 1 <= done < EPOCHS, kill
        # history.csv never lacks an epoch that the checkpoint counts; it may be one ahead (killed between them).
        assert kill["history"] in (list(range(1, done + 1)), list(range(1, done + 2))), kill
    # The second kill hit a checkpoint write: its temporary file is left, the previous checkpoint stands.
    assert kills[1]["temporaries"] and all(name.endswith(".npz") for name in kills[1]["temporaries"]), kills[1]
    assert kills[1]["checkpoint_epoch"] == kills[0]["checkpoint_epoch"]


def test_killed_run_resumes_to_the_end_with_every_epoch_once(jobs):
    record, out = jobs["killed"]
    exit_code, stdout, stderr = record["final"]

    assert exit_code == 0, stderr
    assert f"resuming from epoch {record['kills'][-1]['checkpoint_epoch']} of {EPOCHS}" in stdout
    assert history_epochs(out) == list(range(1, EPOCHS + 1))
    assert unreadable_files(out) == []
    assert temporaries(out) == [], "the resumed run should remove what the killed writes left"
    grids = sorted(path.name for path in (out / "samples").iterdir())
    assert grids == [f"epoch_{epoch:04d}.png" for epoch in range(1, EPOCHS + 1)]


def test_killed_and_resumed_run_equals_an_uninterrupted_one(jobs):
    (record, out), (_, straight_out) = jobs["killed"], jobs["first"]
    assert record["final"][0] == 0, record["final"][2]

    # Each resume went on from the last complete checkpoint: no step was done twice or lost.
    assert_same_checkpoints(out, straight_out)
    assert history_rows(out) == history_rows(straight_out)
    assert checkpoint_epoch(out, "best") == checkpoint_epoch(straight_out, "best")


# --- Ctrl-C ------------------------------------------------------------------------------------------------


def test_ctrl_c_saves_a_checkpoint_and_prints_the_resume_command(jobs):
    record, out = jobs["ctrl-c"]
    interrupted = record["interrupted"]

    assert interrupted["exit"] == 130, interrupted["stderr"]
    assert "Traceback" not in interrupted["stderr"], interrupted["stderr"]
    assert last_line(interrupted["stderr"]) == f"interrupted; resume with: python dcgan.py resume --out {out}"
    assert interrupted["unreadable"] == [] and interrupted["temporaries"] == []
    # The checkpoint holds the weights reached: whole epochs plus the steps of the interrupted one.
    done = interrupted["checkpoint_epoch"]
    assert done >= 1 and interrupted["iterations"] >= done * STEPS_PER_EPOCH
    assert interrupted["history"] in (list(range(1, done + 1)), list(range(1, done + 2)))


def test_the_printed_command_resumes_to_the_end(jobs):
    record, out = jobs["ctrl-c"]
    resumed = record["resumed"]

    assert resumed["exit"] == 0, resumed["stderr"]
    assert f"resuming from epoch {record['interrupted']['checkpoint_epoch']} of {EPOCHS}" in resumed["stdout"]
    assert history_epochs(out) == list(range(1, EPOCHS + 1))
    assert checkpoint_epoch(out) == EPOCHS
    assert unreadable_files(out) == []
