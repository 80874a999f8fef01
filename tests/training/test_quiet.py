"""utils.training.quiet: TensorFlow's C++ start-up lines are hidden unless asked for; other stderr output stays."""

import os
import subprocess
import sys

from conftest import ROOT, concurrent

from utils.training.quiet import NOISE, without_log_lines

STARTUP = (
    "I0000 00:00:1796476078.196436    8433 port.cc:153] oneDNN custom operations are on.\n",
    "W0000 00:00:1796476078.196844    8433 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n",
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
)


def test_only_the_log_lines_are_dropped(capfd):
    with without_log_lines():
        for line in STARTUP:
            os.write(2, line.encode())
        os.write(2, b"E0000 00:00:1.5    1 cuda_platform.cc:52] failed call to cuInit\n")
        os.write(2, b"a real warning from a library\n")
        print("to stdout")
    captured = capfd.readouterr()
    assert captured.out == "to stdout\n"
    assert (
        captured.err
        == "E0000 00:00:1.5    1 cuda_platform.cc:52] failed call to cuInit\na real warning from a library\n"
    )
    assert all(NOISE.match(line) for line in STARTUP)


def _summary(*flags):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    command = [sys.executable, str(ROOT / "dcgan.py"), "summary", "--image-size", "28", "--g-width", "8", *flags]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_dcgan_py_starts_quietly_unless_verbose():
    with concurrent(_summary, {"quiet": (), "verbose": ("--verbose",)}) as runs:
        quiet, verbose = runs["quiet"], runs["verbose"]
    assert quiet.returncode == 0 and verbose.returncode == 0, quiet.stderr + verbose.stderr
    assert quiet.stderr == ""
    assert any(NOISE.match(line) for line in verbose.stderr.splitlines()), verbose.stderr
    assert quiet.stdout.splitlines()[-1] == verbose.stdout.splitlines()[-1]
