"""Sample quality of the toolkit against the PyTorch reference DCGAN, at equal epochs and at equal training time.

Both train on the same Fashion-MNIST training images (a seeded `--subset`), at the same batch size, each with
its own recipe: the toolkit's `DCGAN.fit` (`--architecture paper` by default: 5x5 kernels, a dense projection
of z, fresh noise for the G step) and `benchmarks/torch_reference.py` (pytorch/examples' dcgan/main.py:
4x4 kernels, Adam 2e-4 / 0.5, BCE, the G step on the D step's images), its networks adapted to 28x28x1 the way
the toolkit's are and as wide (`--width`). The reference runs in a subprocess under `--torch-python`, which
needs PyTorch and no TensorFlow.

Equal epochs: both train `--epochs` epochs. Equal time: the reference trains for as many seconds as the
toolkit's `--epochs` took (compilation included), or both train for `--seconds`. The clocks count training only
(not start-up, data loading or drawing samples). Each model then draws `--samples` images, scored with the
toolkit's FID and KID (`utils.analysis.fid`) in the offline classifier's feature space against as many test
images, beside the real-vs-real floor (as many training images). Prints one JSON line; `fid_ratio` is the
toolkit's FID over the reference's (below 1: the toolkit is better).

    python benchmarks/quality.py --torch-python /tmp/torchvenv/bin/python
    python benchmarks/quality.py --subset 60000 --epochs 25 --batch-size 128 --width 64 --samples 10000 --backend jax
"""

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.cli.flags import positive_int
from utils.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
DATASET = "fashion_mnist"
IMAGE_SHAPE = (28, 28, 1)
CLASSIFIER = ROOT / "saved_models" / "fashion_mnist_classifier.keras"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="Fashion-MNIST IDX folder (default: the toolkit's, Debian's when present)")
    parser.add_argument("--subset", type=positive_int, default=20000, help="training images both use (default 20000)")
    parser.add_argument(
        "--epochs", type=positive_int, default=10, help="epochs of the equal-epochs comparison (default 10)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        help="training seconds both get in the equal-time comparison (default: the reference gets the seconds "
        "the toolkit's --epochs took)",
    )
    parser.add_argument("--batch-size", type=positive_int, default=64, help="images per step (default 64)")
    parser.add_argument("--width", type=positive_int, default=32, help="channels next to the image, G and D")
    parser.add_argument("--architecture", default="paper", choices=("paper", "reference"), help="toolkit preset")
    parser.add_argument("--backend", default="tensorflow", choices=("tensorflow", "jax", "torch"))
    parser.add_argument("--precision", default="float32", choices=("float32", "mixed_bfloat16", "mixed_float16"))
    parser.add_argument("--reuse-fakes", action="store_true", help="toolkit: the G step on the D step's images")
    parser.add_argument("--samples", type=positive_int, default=2000, help="images of each set scored (default 2000)")
    parser.add_argument("--classifier", default=str(CLASSIFIER), help="feature space of FID/KID")
    parser.add_argument("--seed", type=int, default=0, help="seed of the subset, weights, noise and scoring")
    parser.add_argument(
        "--torch-python",
        default=sys.executable,
        help="a Python with PyTorch, which runs the reference (default: this one)",
    )
    args = parser.parse_args(argv)
    if args.samples < 2:
        parser.error(f"argument --samples: must be at least 2, not {args.samples}")
    if args.seconds is not None and args.seconds <= 0:
        parser.error(f"argument --seconds: must be positive, not {args.seconds}")
    if args.batch_size > args.subset:
        parser.error(f"--batch-size {args.batch_size} is more than --subset {args.subset}")
    return args


def check_inputs(args):
    """Fail early, before any training, on a classifier file or a Python for the reference that cannot work.

    Raises:
        UserError: the classifier file is missing, or `--torch-python` cannot import PyTorch.
    """
    if not Path(args.classifier).is_file():
        raise UserError(f"classifier file {args.classifier} does not exist; train one with 'dcgan.py classifier'")
    try:
        found = subprocess.run([args.torch_python, "-c", "import torch"], capture_output=True, timeout=120)
    except OSError as exc:
        raise UserError(f"--torch-python {args.torch_python} cannot run: {exc.strerror}") from None
    if found.returncode:
        raise UserError(f"--torch-python {args.torch_python} cannot import torch; give a Python with PyTorch installed")


def machine():
    """The machine the figures come from: platform, CPU model and the CPUs this process may use."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        cpu = names[0] if names else cpu
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"platform": platform.platform(), "cpu": cpu, "cores": cores, "python": platform.python_version()}


def commit():
    """The short hash of the checked-out commit, or None outside a git work tree."""
    try:
        found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return None
    return found.stdout.strip() or None


def log(message):
    """Progress on stderr; stdout carries only the JSON line."""
    print(message, file=sys.stderr, flush=True)


def make_clock(seconds=None):
    """A Keras callback that counts steps and times them, and stops `fit` once `seconds` have passed.

    Args:
        seconds: the training budget; None trains the epochs `fit` was given.

    Returns:
        The callback; after `fit`, its `steps`, `first_step_s` (compilation included) and `seconds`.
    """
    import keras

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start, self.steps, self.first_step_s, self.seconds = time.perf_counter(), 0, None, 0.0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            self.seconds = time.perf_counter() - self.start
            if self.first_step_s is None:
                self.first_step_s = self.seconds
            if seconds is not None and self.seconds >= seconds:
                self.model.stop_training = True

    return Clock()


def train_toolkit(args, data, epochs=None, seconds=None):
    """Train a fresh toolkit DCGAN for `epochs` epochs, or until `seconds` of training have passed.

    Args:
        args: the parsed options (model, backend, precision, seed, samples).
        data: the `Data` of the training subset.
        epochs: epochs to train; None with `seconds`.
        seconds: training budget; None with `epochs`.

    Returns:
        (the generator's `--samples` images, float32 in [-1, 1]; {"epochs", "steps", "seconds", "first_step_s"}).
    """
    import keras

    from utils.training.config import model_config
    from utils.training.samples import fake_samples
    from utils.training.train import build_trainer

    keras.utils.set_random_seed(args.seed)
    config = model_config(
        args.architecture, image_size=28, channels=1, g_width=args.width, d_width=args.width, latent_dim=100
    )
    gan = build_trainer(config, seed=args.seed, precision=args.precision, reuse_fakes=args.reuse_fakes)
    clock = make_clock(seconds)
    start = time.perf_counter()
    history = gan.fit(
        data.epochs(),
        steps_per_epoch=data.steps_per_epoch,
        epochs=epochs or 10**9,
        callbacks=[clock],
        verbose=0,
        shuffle=False,
    )
    float(history.history["g_loss"][-1])  # the last step has finished
    trained = {
        "epochs": round(clock.steps / data.steps_per_epoch, 3),
        "steps": clock.steps,
        "seconds": round(time.perf_counter() - start, 2),
        "first_step_s": round(clock.first_step_s, 2),
    }
    return fake_samples(gan.generator, args.samples, args.seed)[0], trained


def train_reference(args, images_file, seconds, out):
    """Train the PyTorch reference in a subprocess on the images in `images_file`.

    It trains until both `--epochs` epochs and `seconds` seconds have passed, drawing its samples at each.

    Returns:
        (samples after the epochs, samples after the seconds, torch_reference.py's JSON object).

    Raises:
        UserError: the reference failed (its last error line is given).
    """
    import numpy as np

    command = [args.torch_python, str(ROOT / "benchmarks" / "torch_reference.py"), "--data", str(images_file)]
    command += ["--train-epochs", str(args.epochs), "--train-seconds", str(seconds), "--samples-out", str(out)]
    command += ["--batch-size", str(args.batch_size), "--width", str(args.width)]
    command += ["--samples", str(args.samples), "--seed", str(args.seed)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if run.returncode:
        lines = run.stderr.strip().splitlines() or ["no output"]
        raise UserError(f"the PyTorch reference failed (exit code {run.returncode}): {lines[-1]}")
    result = json.loads(run.stdout.strip().splitlines()[-1])
    return np.load(out / "after_epochs.npy"), np.load(out / "after_seconds.npy"), result


def feature_space(args):
    """The classifier's feature space and the real images every sample set is compared with.

    Returns:
        (score, floor): `score(images)` gives {"fid", "kid", "kid_std"} of images in [-1, 1] against `--samples`
        test images; `floor` is the same for as many training images (the real-vs-real floor).
    """
    from utils.analysis.classifier import feature_extractor
    from utils.analysis.fid import extract_features, fid, kid
    from utils.analysis.fid_reference import real_sets
    from utils.training.saving import load_model

    extractor = feature_extractor(load_model(args.classifier))
    reference, floor_images, _ = real_sets(DATASET, args.data_dir, args.samples, args.seed, IMAGE_SHAPE)
    reference_f = extract_features(extractor, reference)

    def score(images):
        features = extract_features(extractor, images)
        kid_mean, kid_std = kid(features, reference_f, seed=args.seed)
        return {"fid": fid(features, reference_f), "kid": kid_mean, "kid_std": kid_std}

    return score, score(floor_images)


def comparison(score, floor, toolkit, reference):
    """The scores of one comparison.

    Args:
        score: from `feature_space`.
        floor: the real-vs-real scores.
        toolkit, reference: (samples, how that side trained: a dict with its epochs, steps and seconds).

    Returns:
        fid_/kid_/kid_std_ toolkit and reference, fid_floor, kid_floor, fid_ratio (toolkit / reference),
        and each side's training under "toolkit" and "reference".
    """
    scores = {"toolkit": score(toolkit[0]), "reference": score(reference[0])}
    result = {
        f"{name}_{side}": round(scores[side][name], 5 if name == "fid" else 6)
        for name in ("fid", "kid", "kid_std")
        for side in ("toolkit", "reference")
    }
    result.update(fid_floor=round(floor["fid"], 5), kid_floor=round(floor["kid"], 6))
    result["fid_ratio"] = round(scores["toolkit"]["fid"] / scores["reference"]["fid"], 4)
    result.update(toolkit=toolkit[1], reference=reference[1])
    return result


def main(argv=None):
    args = parse_args(argv)
    os.environ["KERAS_BACKEND"] = args.backend
    check_inputs(args)
    from utils.training.quiet import quiet_tensorflow

    quiet_tensorflow()
    start = time.perf_counter()
    import keras
    import numpy as np

    from benchmarks.train_speed import device_name
    from utils.data.load import load_dataset

    data = load_dataset(DATASET, batch_size=args.batch_size, data_dir=args.data_dir, subset=args.subset, seed=args.seed)
    log(f"training both on {data.num_examples} images from {data.source}, {data.steps_per_epoch} steps per epoch")
    toolkit_epochs = train_toolkit(args, data, epochs=args.epochs)
    log(f"toolkit, {args.epochs} epochs: {toolkit_epochs[1]}")
    budget = args.seconds or toolkit_epochs[1]["seconds"]
    toolkit_time = toolkit_epochs
    if args.seconds:
        toolkit_time = train_toolkit(args, data, seconds=budget)
        log(f"toolkit, {budget} s: {toolkit_time[1]}")
    with tempfile.TemporaryDirectory(prefix="dcgan-quality-") as folder:
        np.save(Path(folder) / "images.npy", data.arrays()[0])
        *reference_samples, reference = train_reference(args, Path(folder) / "images.npy", budget, Path(folder))
    log(f"reference: {reference['after_epochs']} and {reference['after_seconds']}")
    score, floor = feature_space(args)
    result = {
        "dataset": DATASET,
        "images": data.num_examples,
        "epochs": args.epochs,
        "seconds": round(budget, 2),
        "batch_size": args.batch_size,
        "width": args.width,
        "architecture": args.architecture,
        "backend": args.backend,
        "precision": args.precision,
        "reuse_fakes": args.reuse_fakes,
        "samples": args.samples,
        "seed": args.seed,
        "features": "classifier",
        "equal_epochs": comparison(score, floor, toolkit_epochs, (reference_samples[0], reference["after_epochs"])),
        "equal_time": comparison(score, floor, toolkit_time, (reference_samples[1], reference["after_seconds"])),
        "wall_s": round(time.perf_counter() - start, 1),
        "machine": machine(),
        "device": device_name(args.backend),
        "reference_device": reference["device"],
        "keras": keras.__version__,
        args.backend: __import__(args.backend).__version__,
        "torch": reference["torch"],
        "reference_threads": reference["threads"],
        "commit": commit(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    from utils.errors import run_script

    run_script(main)
