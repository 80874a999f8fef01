"""The `dcgan.py` command line: every subcommand is a module of `utils.commands`.

Settings are checked before TensorFlow is imported, so bad input fails in a fraction of a second.
"""

import argparse
import sys

from utils.commands import register_all
from utils.errors import UserError
from utils.interrupts import catch_stop_signals, report_interruption


def build_parser():
    """The argument parser of all subcommands."""
    parser = argparse.ArgumentParser(
        prog="dcgan.py",
        description="Train DCGANs (Radford, Metz, Chintala 2016) on image datasets, resume runs, draw samples "
        "from saved models and inspect architectures. Run 'dcgan.py COMMAND --help' for each command's flags.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register_all(commands)
    return parser


def main(argv=None):
    """Run the command line; returns the process exit code."""
    args = build_parser().parse_args(argv)
    run = args.command in ("train", "resume")
    with catch_stop_signals(active=run):
        try:
            return args.func(args)
        except UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt as exc:
            return report_interruption(exc, args.out if run else None)
