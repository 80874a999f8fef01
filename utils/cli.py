"""The `dcgan.py` command line: train, resume, sample, summary.

Settings are checked before TensorFlow is imported, so bad input fails in a fraction of a second.
"""

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

from utils.commands import positive_int, register_all
from utils.config import ARCHITECTURES, BACKENDS, IMAGE_SIZES, PRECISIONS, load_config, model_config
from utils.datasets import DATASETS, dataset_spec
from utils.errors import UserError
from utils.files import check_new_run, check_writable_dir
from utils.folder import list_images
from utils.interrupts import catch_stop_signals, report_interruption

BATCHNORM = {"both": (True, True), "none": (False, False), "generator": (True, False), "discriminator": (False, True)}


def use_backend(name):
    """Make `name` the Keras backend of this process, before Keras is imported; UserError when it cannot be.

    Returns:
        `name`.
    """
    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
        if current != name:
            raise UserError(
                f"Keras already runs on {current} in this process; set KERAS_BACKEND={name} before Keras is first "
                "imported (in a notebook: restart the kernel)"
            )
    elif importlib.util.find_spec(name) is None:
        raise UserError(f"--backend {name} needs the {name} package, which is not installed")
    os.environ["KERAS_BACKEND"] = name
    return name


def _add_backend_flags(group, default_note, steps_default_note):
    group.add_argument(
        "--backend",
        choices=BACKENDS,
        help=f"Keras backend that trains: tensorflow, jax or torch ({default_note})",
    )
    group.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="float32, or mixed precision with bfloat16 (GPUs since Ampere, TPUs) or float16 (with loss scaling); "
        f"G's output and D's logit stay float32 ({default_note})",
    )
    group.add_argument(
        "--steps-per-execution",
        type=positive_int,
        metavar="STEPS",
        help="training steps per call of the compiled step, fewer Python round trips (the most up to this that "
        "divide an epoch: no call runs into the next epoch); the guard, Ctrl-C and the progress bar act after each "
        f"call; tensorflow or jax ({steps_default_note})",
    )


def _add_model_flags(parser):
    group = parser.add_argument_group("model (each flag overrides the --architecture preset)")
    group.add_argument(
        "--architecture",
        default="paper",
        choices=list(ARCHITECTURES),
        help="named preset: paper (REFERENCE's 64x64 figure scaled to the image size), reference (PyTorch "
        "reference: 4x4 kernels, width 64), seed002-doubled / seed002-extra-layer (128x128). Default: paper",
    )
    group.add_argument(
        "--image-size",
        type=int,
        help=f"image side in pixels: {', '.join(map(str, IMAGE_SIZES))} (default: the dataset's or preset's)",
    )
    group.add_argument("--channels", type=int, help="1 (grayscale) or 3 (RGB) (default: the dataset's own)")
    group.add_argument("--latent-dim", type=positive_int, help="length of the noise vector z (default 100)")
    group.add_argument(
        "--g-width", type=positive_int, help="channels of G's last hidden layer; they double towards 4x4 (paper 128)"
    )
    group.add_argument(
        "--d-width", type=positive_int, help="channels of D's first layer; they double towards 4x4 (paper 128)"
    )
    group.add_argument("--kernel-size", type=positive_int, help="convolution kernel size (paper 5, reference 4)")
    group.add_argument("--batchnorm", choices=list(BATCHNORM), help="where BatchNorm is used (default both)")
    group.add_argument("--d-dropout", type=float, help="dropout rate after each D activation (default 0: none)")
    group.add_argument("--projection", choices=("dense", "conv_transpose"), help="how G turns z into the 4x4 map")
    group.add_argument("--d-output", choices=("dense", "conv"), help="how D turns its 4x4 map into one logit")


def _model_settings(args, spec=None):
    """Resolve the model flags into a `ModelConfig` (preset, then dataset defaults, then explicit flags)."""
    preset = ARCHITECTURES.get(args.architecture, {})
    g_bn, d_bn = BATCHNORM[args.batchnorm] if args.batchnorm else (None, None)
    return model_config(
        args.architecture,
        image_size=args.image_size or preset.get("image_size") or (spec.image_size if spec else None),
        channels=args.channels or (spec.channels if spec else None),
        latent_dim=args.latent_dim,
        g_width=args.g_width,
        d_width=args.d_width,
        kernel_size=args.kernel_size,
        g_batchnorm=g_bn,
        d_batchnorm=d_bn,
        d_dropout=args.d_dropout,
        projection=args.projection,
        d_output=args.d_output,
    )


def build_parser():
    """The argument parser of all subcommands."""
    parser = argparse.ArgumentParser(
        prog="dcgan.py",
        description="Train DCGANs (Radford, Metz, Chintala 2016) on image datasets, resume runs, draw samples "
        "from saved models and inspect architectures. Run 'dcgan.py COMMAND --help' for each command's flags.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train a DCGAN and write models, samples and curves into --out",
        description="Train a DCGAN. Writes generator/discriminator .keras and .h5, history.csv, "
        "loss.png, samples/, progress.gif, checkpoints/, logs/ and config.json into --out.",
    )
    data = train.add_argument_group("data")
    data.add_argument("--dataset", required=True, help=f"one of: {', '.join(DATASETS)}")
    data.add_argument(
        "--data-dir", help="IDX folder (mnist, fashion_mnist), image folder (folder), or tensorflow-datasets data_dir"
    )
    data.add_argument(
        "--subset", type=positive_int, help="train on this many examples, chosen with --seed (default all)"
    )
    _add_model_flags(train)
    run = train.add_argument_group("training")
    run.add_argument("--epochs", type=positive_int, default=5, help="epochs to train (default 5)")
    run.add_argument("--batch-size", type=positive_int, default=128, help="images per step (paper 128)")
    run.add_argument("--learning-rate", type=float, default=2e-4, help="Adam learning rate of G and D (paper 2e-4)")
    run.add_argument("--beta1", type=float, default=0.5, help="Adam beta_1 of G and D (paper 0.5)")
    run.add_argument("--seed", type=int, default=0, help="seed of weights, noise, subset and shuffling (default 0)")
    _add_backend_flags(run, "default: $KERAS_BACKEND, else tensorflow; float32", "default 1")
    run.add_argument(
        "--data-parallel",
        action="store_true",
        help="split each batch across every GPU (tensorflow: MirroredStrategy, on several machines "
        "MultiWorkerMirroredStrategy with TF_CONFIG set; jax: keras.distribution.DataParallel, on several machines "
        "with KERAS_DISTRIBUTION_* set; see README); --batch-size is the global batch",
    )
    run.add_argument(
        "--reuse-fakes",
        action="store_true",
        help="the G step trains on the D step's generated images, as the PyTorch reference DCGAN does (one G "
        "forward pass per step instead of two; default: fresh noise for G, as in the paper's algorithm)",
    )
    run.add_argument(
        "--deterministic",
        action="store_true",
        help="deterministic TensorFlow ops: with --seed, the same run gives the same weights, also across "
        "an interruption and 'resume' (slower on GPUs; kept by resume)",
    )
    run.add_argument("--out", required=True, help="run folder to write into (created if missing)")
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="start afresh in an --out folder that already holds a run (its samples and checkpoints are removed)",
    )
    train.set_defaults(func=cmd_train)

    resume = commands.add_parser(
        "resume",
        help="continue a run from its last complete checkpoint",
        description="Continue the run in --out from checkpoints/last.npz with its saved config.json.",
    )
    resume.add_argument("--out", required=True, help="the run folder of an earlier 'train'")
    resume.add_argument(
        "--epochs", type=positive_int, help="train until this many epochs in total (default: the run's own)"
    )
    resume.add_argument(
        "--learning-rate", type=float, help="a new Adam learning rate, e.g. after a divergence (default: the run's)"
    )
    _add_backend_flags(resume, "default: the run's own", "default: the run's own")
    resume.set_defaults(func=cmd_resume)

    sample = commands.add_parser(
        "sample",
        help="write a grid of images from a saved generator",
        description="Draw images from a saved .keras or .h5 generator into one PNG grid.",
    )
    sample.add_argument("--generator", required=True, help="saved generator (.keras or .h5)")
    sample.add_argument("--n", type=positive_int, default=64, help="number of images (default 64)")
    sample.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    sample.add_argument("--noise", help="a .npy file of z vectors to use instead of random noise")
    sample.add_argument("--latent-dim", type=positive_int, help="fail unless the generator takes this latent size")
    sample.add_argument("--columns", type=positive_int, help="images per row (default: square grid)")
    sample.add_argument("--out", required=True, help="PNG file to write")
    sample.set_defaults(func=cmd_sample)

    summary = commands.add_parser(
        "summary",
        help="print both models' layers and parameter counts",
        description="Print the Keras summaries of G and D, then one JSON line with their trainable parameter counts.",
    )
    summary.add_argument("--dataset", help="take the default image size and channels from this dataset")
    _add_model_flags(summary)
    summary.set_defaults(func=cmd_summary)
    register_all(commands)
    return parser


def cmd_train(args):
    name, spec = dataset_spec(args.dataset)
    model = _model_settings(args, spec)
    if name == "folder" and not args.data_dir:
        raise UserError("--dataset folder needs --data-dir DIR, the folder of images")
    if args.data_dir and not Path(args.data_dir).is_dir():
        raise UserError(f"--data-dir {args.data_dir} is not a folder")
    if name == "folder":
        list_images(args.data_dir)  # a missing or empty folder fails here, before TensorFlow loads
    out = check_writable_dir(args.out)
    if not args.overwrite and not args.data_parallel:
        # Fail now rather than after TensorFlow has loaded. Data-parallel runs check in `train`, where only the
        # writing process does: on several machines the others could start after it wrote the new config.json.
        check_new_run(out)
    import dataclasses

    backend = use_backend(args.backend or os.environ.get("KERAS_BACKEND") or "tensorflow")
    config = {
        "data": {
            "name": name,
            "data_dir": args.data_dir,
            "subset": args.subset,
            "image_size": model.image_size,
            "channels": model.channels,
        },
        "model": dataclasses.asdict(model),
        "training": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "beta_1": args.beta1,
            "seed": args.seed,
            "monitor": "g_loss",
            "deterministic": args.deterministic,
            "backend": backend,
            "precision": args.precision or "float32",
            "data_parallel": args.data_parallel,
            "reuse_fakes": args.reuse_fakes,
            "steps_per_execution": args.steps_per_execution or 1,
        },
        "command": " ".join(["python", "dcgan.py", *sys.argv[1:]]),
    }
    from utils.train import train

    train(config, out, overwrite=args.overwrite)
    return 0


def cmd_resume(args):
    out = Path(args.out)
    if not out.is_dir():
        raise UserError(f"--out {out} is not a run folder")
    if not (out / "checkpoints" / "last.npz").is_file() and not (out / "config.json").is_file():
        raise UserError(f"no checkpoint to resume in {out / 'checkpoints'}")
    config = load_config(out)
    training = config["training"]
    training["backend"] = use_backend(args.backend or training.get("backend", "tensorflow"))
    if args.precision:
        training["precision"] = args.precision
    if args.steps_per_execution:
        training["steps_per_execution"] = args.steps_per_execution
    from utils.train import train

    if args.epochs:
        config["training"]["epochs"] = args.epochs
    if args.learning_rate is not None:
        config["training"]["learning_rate"] = args.learning_rate
    train(config, out, resume=True)
    return 0


def cmd_sample(args):
    out = Path(args.out)
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a .png file name")
    check_writable_dir(out.parent)
    import numpy as np

    from utils.images import save_grid
    from utils.samples import sample_latent
    from utils.saving import load_generator

    generator = load_generator(args.generator, args.latent_dim)
    latent_dim = generator.input_shape[-1]
    if args.noise:
        try:
            z = np.load(args.noise).astype(np.float32)
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read noise file {args.noise}: {exc}") from None
        if z.ndim != 2 or z.shape[1] != latent_dim:
            raise UserError(f"noise in {args.noise} has shape {z.shape}; the generator takes (N, {latent_dim})")
    else:
        z = sample_latent(args.n, latent_dim, args.seed)
    save_grid(np.asarray(generator.predict(z, verbose=0)), out, args.columns)
    print(f"wrote {len(z)} samples to {out}")
    return 0


def cmd_summary(args):
    spec = dataset_spec(args.dataset)[1] if args.dataset else None
    model = _model_settings(args, spec)
    from utils.models import build_discriminator, build_generator, trainable_params

    generator, discriminator = build_generator(model), build_discriminator(model)
    generator.summary()
    discriminator.summary()
    print(json.dumps({"generator": trainable_params(generator), "discriminator": trainable_params(discriminator)}))
    return 0


def main(argv=None):
    """Run the command line; returns the process exit code."""
    args = build_parser().parse_args(argv)
    run = args.command in ("train", "resume")
    with catch_stop_signals(active=run):
        try:
            return args.func(args)
        except UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt as exc:
            return report_interruption(exc, args.out if run else None)
