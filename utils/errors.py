"""The one exception type that the command line turns into a one-line message, and `run_script`, which does so."""

import sys


class UserError(Exception):
    """Bad input from the user: printed as `error: <message>` with a non-zero exit, no traceback."""


def run_script(main):
    """Run a script's `main()` and exit with its return value; bad input (a `UserError`) ends it with
    `error: <message>` on stderr and exit code 2, as `dcgan.py` does, instead of a traceback."""
    try:
        status = main()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        status = 2
    sys.exit(status)
