"""Ctrl-C and SIGTERM during a run: turn SIGTERM into Ctrl-C, and tell the user how to resume."""

import contextlib
import shlex
import signal
import sys
import threading
from pathlib import Path

TERMINATED = "SIGTERM"  # the argument of the KeyboardInterrupt that `catch_sigterm` raises


def _terminate(signum, frame):
    raise KeyboardInterrupt(TERMINATED)


@contextlib.contextmanager
def catch_sigterm(active=True):
    """Within the block, SIGTERM raises KeyboardInterrupt("SIGTERM") like Ctrl-C does.

    Pre-empted machines send SIGTERM before they pull the plug; a training run then saves a checkpoint
    instead of dying. Signal handlers can only be set from the main thread: elsewhere this does nothing.

    Args:
        active: whether to catch SIGTERM at all.
    """
    active = active and threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if active else None
    try:
        yield
    finally:
        if active:  # None: the old handler was not set from Python; the default is the closest
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def report_interruption(exc, out=None):
    """Print what was interrupted and how to resume to stderr; return the exit code (130, or 143 for SIGTERM).

    Args:
        exc: the KeyboardInterrupt.
        out: the run folder of a train or resume command, else None.
    """
    terminated = exc.args == (TERMINATED,)
    what = "terminated (SIGTERM)" if terminated else "interrupted"
    if out is None:
        print(what, file=sys.stderr)
    elif (Path(out) / "checkpoints" / "last.npz").is_file() or (Path(out) / "config.json").is_file():
        print(f"{what}; resume with: python dcgan.py resume --out {shlex.quote(str(out))}", file=sys.stderr)
    else:
        print(f"{what} before the run started; nothing to resume", file=sys.stderr)
    return 143 if terminated else 130
