"""Run dcgan.py's command line with TensorFlow's CPU split into 2 logical devices (a machine with 2 "GPUs").

Usage: python tests/system/two_cpus.py COMMAND ARGS... (as dcgan.py). Used by tests/system/test_multi_process.py;
tests/system/data_parallel_run.py uses its `split_cpu`.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def split_cpu():
    """Split TensorFlow's CPU into 2 logical devices; only possible before TensorFlow has computed anything."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)


if __name__ == "__main__":
    split_cpu()
    sys.path.insert(0, str(ROOT))
    from utils.cli import main

    sys.exit(main(sys.argv[1:]))
