"""A stand-in for `python` in the GPU shell scripts: checks that each command's options parse and runs nothing.

`tests/system/test_benchmarks.py` runs `benchmarks/gpu_suite.sh` with PYTHON pointing here. Each command appends one
line to the file named by $CHECK_LOG: "ok SCRIPT ARGS", "bad SCRIPT ARGS" (its parser refused them), "skipped
-c" (inline code) or "unchecked SCRIPT (...)" (its parser needs a package that is not installed).
"""

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def parse_function(script):
    """The function that parses a script's options: `dcgan.py`'s parser, or a benchmark's `parse_args`."""
    if Path(script).name == "dcgan.py":
        from utils.cli import build_parser

        return build_parser().parse_args
    spec = importlib.util.spec_from_file_location(Path(script).stem, ROOT / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.parse_args


def check(argv):
    """The log line for one command line (`python ARGV`)."""
    if argv[0] == "-c":
        return "skipped -c"
    try:
        parse = parse_function(argv[0])
    except ModuleNotFoundError as exc:
        return f"unchecked {argv[0]} ({exc.name} is not installed)"
    try:
        parse(argv[1:])
    except SystemExit:
        return f"bad {' '.join(argv)}"
    return f"ok {' '.join(argv)}"


if __name__ == "__main__":
    line = check(sys.argv[1:])
    with open(os.environ["CHECK_LOG"], "a") as log:
        log.write(line + "\n")
