"""How fast a folder of images is decoded into memory (`utils.data.folder.load_folder`) with each number of threads.

A folder dataset is decoded once, before training, into one uint8 array; training then reads batches from
memory as it does for Fashion-MNIST. This times that one-off decode for each `--workers` count, alternately,
on `--data-dir` or on `--count` generated JPEGs of CelebA's size (178x218, quality 90). Prints one JSON line:
images/s per thread count (best of `--repeats`), and each count's speed against the first.

    python benchmarks/folder_decode.py --count 5000 --workers 0 8 1
    python benchmarks/folder_decode.py --data-dir ~/celeba/img_align_celeba --image-size 64
"""

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def parse_args(argv=None):
    from utils.cli.flags import positive_int

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="a folder of images (default: generate --count JPEGs)")
    parser.add_argument("--count", type=positive_int, default=5000, help="JPEGs to generate without --data-dir")
    parser.add_argument("--image-size", type=positive_int, default=64)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 8], help="thread counts; 0: the default")
    parser.add_argument("--repeats", type=positive_int, default=3)
    args = parser.parse_args(argv)
    if min(args.workers) < 0:
        parser.error("--workers takes thread counts of at least 1, or 0 for the default")
    return args


def write_jpegs(folder, count):
    """`count` smooth, noisy 178x218 colour JPEGs (random noise alone would not compress like photos)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:218, 0:178]
    for index in range(count):
        base = 128 + 60 * np.sin(x / (5 + index % 17)) + 60 * np.cos(y / (7 + index % 13))
        image = np.stack([base, np.roll(base, index % 50, 0), np.roll(base, index % 30, 1)], axis=-1)
        image = np.clip(image + rng.normal(0, 12, image.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(Path(folder) / f"{index:06d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])


def main(argv=None):
    args = parse_args(argv)
    from utils.data.folder import load_folder, usable_cpus

    with tempfile.TemporaryDirectory(prefix="folder_decode_") as generated:
        folder = args.data_dir or generated
        if not args.data_dir:
            write_jpegs(folder, args.count)
        load_folder(folder, args.image_size, 3)  # the files are in the page cache for every count alike
        seconds = {workers: [] for workers in args.workers}
        for _ in range(args.repeats):
            for workers in args.workers:
                start = time.perf_counter()
                images, _ = load_folder(folder, args.image_size, 3, workers=workers or None)
                seconds[workers].append(time.perf_counter() - start)
    names = {
        workers: f"{workers or usable_cpus()} thread(s)" + ("" if workers else ", default") for workers in args.workers
    }
    speed = {workers: len(images) / min(times) for workers, times in seconds.items()}
    first = args.workers[0]
    result = {
        "images": len(images),
        "image_size": args.image_size,
        "source": args.data_dir or f"{args.count} generated 178x218 JPEGs",
        "images_per_s": {names[workers]: round(value) for workers, value in speed.items()},
        f"against {names[first]}": {names[w]: round(value / speed[first], 3) for w, value in speed.items()},
        "usable_cpus": usable_cpus(),
        "cpu": platform.processor() or platform.machine(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    from utils.errors import run_script

    run_script(main)
