"""The flags, checks and output that the subcommands share: models, data, --out and the JSON result line."""

import argparse
import json
import math
from pathlib import Path

from utils.errors import UserError
from utils.files import check_writable_dir


def positive_int(text):
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text}")
    return value


def add_generator_flag(parser, required=True):
    parser.add_argument("--generator", required=required, help="saved generator (.keras or .h5)")


def add_discriminator_flag(parser, required=True):
    parser.add_argument("--discriminator", required=required, help="saved discriminator (.keras or .h5)")


def add_data_flags(parser, required=True):
    from utils.data.registry import DATASETS

    parser.add_argument("--dataset", required=required, help=f"one of: {', '.join(DATASETS)}")
    parser.add_argument("--data-dir", help="IDX folder, image folder, or tensorflow-datasets data_dir")


def add_out_flag(parser, what="figure"):
    parser.add_argument("--out", required=True, help=f"PNG file to write the {what} to")


def check_out_file(path):
    """Check that `path` can be written as a file (its folder is created); returns it as a `Path`."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"--out {path} is a folder; give a file name")
    check_writable_dir(path.parent)
    return path


def print_result(result):
    """Print `result` as the command's last line: one JSON object (NaN and Inf written as null)."""

    def clean(value):
        if isinstance(value, dict):
            return {key: clean(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(item) for item in value]
        if hasattr(value, "item"):  # numpy scalars
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    print(json.dumps(clean(result)))
