#!/usr/bin/env python3
"""Command-line entry of the DCGAN toolkit (`python dcgan.py --help`); the code lives in utils/."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's C++ info lines
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from utils.cli import main

    sys.exit(main())
