"""A run folder that already holds a run: continue it when its settings match, else say what differs."""

import json
from pathlib import Path

import numpy as np

IGNORED = ("training.epochs", "command", "versions")  # settings that do not make another run


def _flat(config, prefix=""):
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict) and not prefix:
            flat.update(_flat(value, f"{key}."))
        else:
            flat[prefix + key] = value
    return flat


def saved_config(out):
    """The config.json of the run in `out`, or None when there is none (or it cannot be read)."""
    try:
        return json.loads((Path(out) / "config.json").read_text())
    except (OSError, ValueError):
        return None


def differences(config, saved):
    """The settings in which `config` differs from a saved run's, e.g. ["training.seed: 0 -> 1"].

    The number of epochs, the command line and the package versions are not compared: more epochs continue a run.
    """
    new, old = _flat(config), _flat(saved)
    keys = sorted((set(new) | set(old)) - {key for key in set(new) | set(old) if key.startswith(IGNORED)})
    return [f"{key}: {old.get(key)} -> {new.get(key)}" for key in keys if new.get(key) != old.get(key)]


def completed_epochs(out):
    """Epochs the run in `out` has completed by its last checkpoint (0 when it has none)."""
    try:
        with np.load(Path(out) / "checkpoints" / "last.npz") as saved:
            return int(saved["epoch"])
    except (OSError, KeyError, ValueError):
        return 0


def existing_run(config, out):
    """What `out` holds against a run about to start with `config`.

    Returns:
        None when `out` holds no run, else (the settings that differ, see `differences`; the epochs completed;
        whether the run is complete: its epochs reached `config`'s and its models saved).
    """
    saved = saved_config(out)
    if saved is None:
        return None
    done = completed_epochs(out)
    complete = done >= config["training"]["epochs"] and (Path(out) / "generator.keras").is_file()
    return differences(config, saved), done, complete


def set_aside(out):
    """Rename the run folder `out` to the first free `<name>.old-N` beside it, and return that path."""
    out = Path(out)
    number = 1
    while (aside := out.with_name(f"{out.name}.old-{number}")).exists():
        number += 1
    out.rename(aside)
    return aside
