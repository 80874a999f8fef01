"""SIGTERM as Ctrl-C, and the message that says how to resume."""

import os
import signal
import threading

import pytest

from utils.training.interrupts import catch_stop_signals, raise_pending_stop, report_interruption


def test_sigterm_raises_keyboard_interrupt_inside_the_block_only():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt) as caught, catch_stop_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        signal.sigtimedwait([], 0.01)  # let the handler run
    assert caught.value.args == ("SIGTERM",)
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize(("signum", "args"), [(signal.SIGINT, ()), (signal.SIGTERM, ("SIGTERM",))])
def test_a_swallowed_stop_is_raised_again(signum, args):
    """A KeyboardInterrupt that lands where Python ignores it (a garbage-collection callback) is not lost."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # not ignored, as in a terminal
    try:
        with catch_stop_signals():
            raise_pending_stop()  # nothing came yet
            try:
                os.kill(os.getpid(), signum)
                signal.sigtimedwait([], 0.01)
            except KeyboardInterrupt:
                pass  # swallowed, as inside a gc callback
            with pytest.raises(KeyboardInterrupt) as caught:
                raise_pending_stop()
        assert caught.value.args == args
        raise_pending_stop()  # outside the block: nothing to raise
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, before)


def test_an_ignored_ctrl_c_stays_ignored():
    """A script's background job starts with SIGINT ignored, so that a Ctrl-C meant for the foreground spares it."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with catch_stop_signals():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None)  # SIGTERM is still handled
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_catch_stop_signals_off_the_main_thread_does_nothing():
    before, seen = signal.getsignal(signal.SIGTERM), []

    def worker():
        with catch_stop_signals():
            seen.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [before]


@pytest.mark.parametrize(
    ("args", "files", "code", "line"),
    [
        ((), ["checkpoints/last.npz"], 130, "interrupted; resume with: python dcgan.py resume --out '{out}'"),
        (("SIGTERM",), ["config.json"], 143, "terminated (SIGTERM); resume with: python dcgan.py resume --out '{out}'"),
        ((), [], 130, "interrupted before the run started; nothing to resume"),
    ],
)
def test_report_interruption(tmp_path, capsys, args, files, code, line):
    out = tmp_path / "my run"  # a space: the printed command must quote it
    for name in files:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(b"")

    assert report_interruption(KeyboardInterrupt(*args), out) == code
    assert capsys.readouterr().err == line.format(out=out) + "\n"


def test_report_interruption_of_other_commands(capsys):
    assert report_interruption(KeyboardInterrupt()) == 130
    assert capsys.readouterr().err == "interrupted\n"
