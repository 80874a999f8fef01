"""Run `dcgan.py` subcommands inside the notebook's kernel and get their JSON results back.

`run_command("interpolate", generator=G, rows=8)` runs `dcgan.py interpolate --generator G --rows 8` in this
process, shows its output in the notebook as it comes and returns the JSON object of its last line.
`classifier` trains the class classifier that `dcgan.py arithmetic` needs, unless it exists already.
"""

import contextlib
import io
import json
import sys
from pathlib import Path

from utils.notebook.run_config import SMOKE_EXAMPLES


class _Tee(io.TextIOBase):
    """A text stream that writes to several streams (the notebook's output and a capture buffer)."""

    def __init__(self, *streams):
        super().__init__()
        self.streams = streams

    def write(self, text):
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self):
        for stream in self.streams:
            stream.flush()

    def isatty(self):
        return False


def command_line(command, *args, **flags):
    """The argument list of `dcgan.py COMMAND`: `rows=8` becomes `--rows 8`, `a_class=9` `--a-class 9`.

    Flags whose value is None are left out; True gives the bare flag and False leaves it out.
    """
    argv = [command, *map(str, args)]
    for key, value in flags.items():
        if value is None or value is False:
            continue
        argv.append("--" + key.replace("_", "-"))
        if value is not True:
            argv.append(str(value))
    return argv


def run_command(command, *args, **flags):
    """Run `dcgan.py COMMAND ARGS --FLAG VALUE ...` inside this process, showing its output; return its result.

    Args:
        command: the subcommand (interpolate, arithmetic, explain, features, neighbours, sample, ...).
        *args: further raw arguments.
        **flags: flags as keywords (see `command_line`), e.g. `run_command("sample", generator=G, n=16, out=P)`.

    Returns:
        The JSON object of the command's last line, or None when the last line is not JSON (train, sample).

    Raises:
        RuntimeError: the command failed; the message holds its `error: ...` line.
    """
    from utils.cli import main

    argv = command_line(command, *args, **flags)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(_Tee(sys.stdout, out)), contextlib.redirect_stderr(_Tee(sys.stderr, err)):
        code = main(argv)
    if code != 0:
        raise RuntimeError(f"dcgan.py {' '.join(argv)} failed with exit code {code}: {err.getvalue().strip()}")
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    try:
        return json.loads(lines[-1]) if lines else None
    except ValueError:
        return None


def classifier(name, path, smoke=False, epochs=5):
    """The path of a class classifier for `dcgan.py arithmetic`: `path` when it exists, else one trained there.

    Args:
        name: a labelled dataset.
        path: where the classifier is (or goes): .keras or .h5.
        smoke: train for one epoch on `SMOKE_EXAMPLES` examples instead of `epochs` on the whole training split.
        epochs: passes over the training split.

    Returns:
        `path` as a `Path`.
    """
    path = Path(path)
    if path.is_file():
        print(f"classifier: {path}")
        return path
    run_command(
        "classifier", dataset=name, out=path, epochs=1 if smoke else epochs, subset=SMOKE_EXAMPLES if smoke else None
    )
    return path
