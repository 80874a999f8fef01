#!/usr/bin/env python3
"""Command-line entry of the DCGAN toolkit (`python dcgan.py --help`); the code lives in utils/."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from utils.cli import main

    sys.exit(main())
