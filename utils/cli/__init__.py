"""The `dcgan.py` command line: the parser and `main`; every subcommand is a module of this package.

Each subcommand module exposes `register(commands)`, which adds its subparser and sets `func` to a function of
the parsed arguments returning the exit code. A command only parses and checks its flags, calls the library
(`utils.training`, `utils.analysis`) and prints; every analysis command prints, last, one JSON line with its
numbers (`flags.print_result`). Settings are checked before TensorFlow is imported, so bad input fails in a
fraction of a second.

May import: every other layer (`utils.analysis`, `utils.training`, `utils.data`, the helpers). Nothing in
`utils` imports from here.
"""

import argparse
import importlib
import sys

from utils.errors import UserError
from utils.training.interrupts import catch_stop_signals, report_interruption
from utils.training.quiet import quiet_tensorflow

# Modules under utils/cli/, in the order `dcgan.py --help` lists them.
MODULES = (
    "training",
    "sample",
    "summary",
    "interpolate",
    "arithmetic",
    "explain",
    "fid",
    "classifier",
    "forget",
    "features",
    "neighbours",
)


def register_all(commands):
    """Add every subcommand to `commands` (an argparse subparsers object)."""
    for name in MODULES:
        importlib.import_module(f"utils.cli.{name}").register(commands)


def build_parser():
    """The argument parser of all subcommands."""
    parser = argparse.ArgumentParser(
        prog="dcgan.py",
        description="Train DCGANs (Radford, Metz, Chintala 2016) on image datasets, resume runs, draw samples "
        "from saved models and inspect architectures. Run 'dcgan.py COMMAND --help' for each command's flags.",
    )
    verbose = "show TensorFlow's C++ start-up and log lines (hidden unless TF_CPP_MIN_LOG_LEVEL asks for them)"
    parser.add_argument("--verbose", action="store_true", help=verbose)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register_all(commands)
    for command in commands.choices.values():  # also after the command: dcgan.py train ... --verbose
        command.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=verbose)
    return parser


def main(argv=None):
    """Run the command line; returns the process exit code."""
    args = build_parser().parse_args(argv)
    quiet_tensorflow(args.verbose)
    run = args.command in ("train", "resume")
    with catch_stop_signals(active=run):
        try:
            return args.func(args)
        except UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt as exc:
            return report_interruption(exc, args.out if run else None)
