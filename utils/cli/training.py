"""`dcgan.py train` and `dcgan.py resume`: settings checked before TensorFlow is imported, then `utils.training.train`."""

import dataclasses
import importlib.util
import os
import sys
from pathlib import Path

from utils.cli.flags import positive_int
from utils.cli.model_flags import add_model_flags, model_settings
from utils.data.folder import list_images
from utils.data.registry import DATASETS, dataset_spec
from utils.errors import UserError
from utils.files import check_writable_dir
from utils.training.config import BACKENDS, PRECISIONS, load_config
from utils.training.runs import existing_run


def register(commands):
    """Add the `train` and `resume` subcommands to `commands` (argparse subparsers)."""
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
    add_model_flags(train)
    run = train.add_argument_group("training")
    run.add_argument("--epochs", type=positive_int, default=5, help="epochs to train (default 5)")
    run.add_argument("--batch-size", type=positive_int, default=128, help="images per step (paper 128)")
    run.add_argument("--learning-rate", type=float, default=2e-4, help="Adam learning rate of G and D (paper 2e-4)")
    run.add_argument("--beta1", type=float, default=0.5, help="Adam beta_1 of G and D (paper 0.5)")
    run.add_argument("--seed", type=int, default=0, help="seed of weights, noise, subset and shuffling (default 0)")
    add_backend_flags(run, "default: $KERAS_BACKEND, else tensorflow; float32", "default 1")
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
        help="start afresh in an --out folder that already holds a run (its samples and checkpoints are removed); "
        "without it, train continues a run of the same settings there and refuses one of other settings",
    )
    train.set_defaults(func=run_train)

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
    add_backend_flags(resume, "default: the run's own", "default: the run's own")
    resume.set_defaults(func=run_resume)


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


def add_backend_flags(group, default_note, steps_default_note):
    """Add --backend, --precision and --steps-per-execution to `group`, with each command's default notes."""
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
        help="training steps per call of fit's train function, fewer Python round trips (the most up to this that "
        "divide an epoch: no call runs into the next epoch); the guard, Ctrl-C and the progress bar act after each "
        f"call; tensorflow or jax ({steps_default_note})",
    )


def run_train(args):
    """Check the settings, write nothing until they pass, then train; returns the exit code."""
    name, spec = dataset_spec(args.dataset)
    model = model_settings(args, spec)
    if name == "folder" and not args.data_dir:
        raise UserError("--dataset folder needs --data-dir DIR, the folder of images")
    if args.data_dir and not Path(args.data_dir).is_dir():
        raise UserError(f"--data-dir {args.data_dir} is not a folder")
    if name == "folder":
        list_images(args.data_dir)  # a missing or empty folder fails here, before TensorFlow loads
    out = check_writable_dir(args.out)
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
    # A run already in --out: data-parallel runs check in `train`, where only the writing process does (on several
    # machines the others could start after it wrote the new config.json); others continue a run of these settings.
    resume = False
    if not args.overwrite and not args.data_parallel and (found := existing_run(config, out)) is not None:
        changed, done, complete = found  # decided now rather than after TensorFlow has loaded
        if changed:
            raise UserError(
                f"--out {out} holds a run with other settings ({'; '.join(changed)}); pass --overwrite to start "
                "afresh there, or choose another --out"
            )
        if complete:
            print(f"{out} holds this run, complete at {done} epochs: nothing to do (more --epochs continue it)")
            return 0
        print(f"continuing the run in {out} from epoch {done} of {args.epochs}: same settings")
        resume = True
    from utils.training.train import train

    train(config, out, resume=resume, overwrite=args.overwrite)
    return 0


def run_resume(args):
    """Continue the run in --out with its saved config.json and these flags' changes; returns the exit code."""
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
    if args.epochs:
        training["epochs"] = args.epochs
    if args.learning_rate is not None:
        training["learning_rate"] = args.learning_rate
    from utils.training.train import train

    train(config, out, resume=True)
    return 0
