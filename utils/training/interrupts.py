"""Ctrl-C and SIGTERM during a run: turn SIGTERM into Ctrl-C, never lose either, and tell the user how to resume."""

import contextlib
import shlex
import signal
import sys
import threading
from pathlib import Path

TERMINATED = "SIGTERM"  # the argument of the KeyboardInterrupt that SIGTERM raises
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _StopHandler:
    """The handler of SIGINT and SIGTERM in a `catch_stop_signals` block: raises KeyboardInterrupt, and keeps its
    arguments so that `raise_pending_stop` can raise it again."""

    def __init__(self):
        self.pending = None  # the arguments of the last KeyboardInterrupt raised

    def __call__(self, signum, frame):
        self.pending = (TERMINATED,) if signum == signal.SIGTERM else ()
        raise KeyboardInterrupt(*self.pending)


@contextlib.contextmanager
def catch_stop_signals(active=True):
    """Within the block, SIGTERM raises KeyboardInterrupt("SIGTERM") like Ctrl-C does, and both are remembered.

    Pre-empted machines send SIGTERM before they pull the plug; a training run then saves a checkpoint
    instead of dying. A signal the process was started to ignore (SIGINT of a script's background job) stays
    ignored, as Python itself leaves it. Signal handlers can only be set from the main thread: elsewhere this
    does nothing.

    Args:
        active: whether to handle the signals at all.
    """
    active = active and threading.current_thread() is threading.main_thread()
    handler = _StopHandler()
    handled = [signum for signum in STOP_SIGNALS if active and signal.getsignal(signum) is not signal.SIG_IGN]
    previous = {signum: signal.signal(signum, handler) for signum in handled}
    try:
        yield
    finally:
        for signum, old in previous.items():  # None: not set from Python; the default is the closest
            signal.signal(signum, signal.SIG_DFL if old is None else old)


def raise_pending_stop():
    """Raise again the KeyboardInterrupt of a Ctrl-C or SIGTERM that came in this `catch_stop_signals` block.

    Python raises it wherever the main thread is. Inside a garbage-collection callback (JAX registers one, and
    Keras imports JAX even when it runs on TensorFlow), Python prints it and goes on, and a training run would
    go on to its end. Training calls this before every batch and after every epoch (`utils.training.callbacks.StopCheck`);
    a KeyboardInterrupt that did reach `fit` ends the run before the next call.
    """
    for signum in STOP_SIGNALS:
        handler = signal.getsignal(signum)
        if isinstance(handler, _StopHandler) and handler.pending is not None:
            raise KeyboardInterrupt(*handler.pending)


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
