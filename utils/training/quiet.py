"""TensorFlow's C++ start-up lines (oneDNN, CUDA probing, CPU features) hidden unless asked for.

TensorFlow 2.21 prints them while it is imported, before `TF_CPP_MIN_LOG_LEVEL` applies, and once more when it
imports its XLA parts. `quiet_tensorflow` captures the process's stderr (file descriptor 2, where C++ writes)
around that import and replays every line that is not one of those log lines; later C++ logging follows
`TF_CPP_MIN_LOG_LEVEL`, which it sets to 3 unless the user set it.
"""

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile

# absl's C++ log lines at INFO and WARNING level ("I0000 00:00:1796476000.805486    7718 port.cc:153] ..."),
# and the line absl prints before its logging is set up.
NOISE = re.compile(r"[IW]\d{4} [\d:.]+ +\d+ \S+:\d+\] |WARNING: All log messages before absl::InitializeLog")


def quiet_tensorflow(verbose=False):
    """Hide TensorFlow's C++ start-up lines from now on, unless `verbose` or `TF_CPP_MIN_LOG_LEVEL=0` asks for them.

    Call it before TensorFlow is imported (importing Keras on its TensorFlow backend imports it).

    Args:
        verbose: show every line (sets `TF_CPP_MIN_LOG_LEVEL=0`).

    Returns:
        Whether the start-up lines will be hidden.
    """
    if verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        return False
    if os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3") == "0" or "tensorflow" in sys.modules:
        return False
    if not any(isinstance(finder, _QuietImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietImport())
    return True


@contextlib.contextmanager
def without_log_lines():
    """Capture the process's stderr (fd 2) in the body; write back every line that `NOISE` does not match."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not NOISE.match(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


class _QuietImport(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` as the other finders would, and has it imported `without_log_lines` (once)."""

    searching = False

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or self.searching:
            return None
        self.searching = True  # importlib.util.find_spec below asks this finder again
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.searching = False
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader, self)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader, finder):
        self.loader = loader
        self.finder = finder

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)
        with without_log_lines():
            self.loader.exec_module(module)
