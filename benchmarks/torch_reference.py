"""The widely used PyTorch reference DCGAN (pytorch/examples, dcgan/main.py) as a hand-written eager loop.

64x64 RGB, 4x4 kernels, ngf = ndf = 64, z of 100, Adam(2e-4, betas 0.5/0.999), BCE on D's sigmoid output,
per iteration: D on a real batch, D on G(z) (detached), one D step; then one G step through D on the same
G(z). Images are one random batch already on the device, as in `train_speed.py`. Prints one JSON line.

With `--data`, it trains instead on real 28x28 grayscale images (Fashion-MNIST) with the same recipe, its
networks adapted to 28x28x1 as the toolkit's are (a 7x7 core: z -> 7x7 -> 14x14 -> 28x28, widths `--width`
and twice that), for `--train-epochs` epochs and at least `--train-seconds` seconds, and writes its samples
after each of the two into `--samples-out` (`benchmarks/quality.py` scores them). It imports no TensorFlow.

    python benchmarks/torch_reference.py --batch-size 128
    python benchmarks/torch_reference.py --data images.npy --train-epochs 2 --train-seconds 60 --samples-out DIR
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.cli.flags import positive_int
from utils.errors import UserError, run_script

SAMPLE_FILES = {"epochs": "after_epochs.npy", "seconds": "after_seconds.npy"}  # --samples-out's two files


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--steps", type=positive_int, default=50, help="timed steps per measurement")
    parser.add_argument("--warmup", type=positive_int, default=5)
    parser.add_argument("--repeats", type=positive_int, default=3, help="measurements; the best is kept")
    training = parser.add_argument_group("training on real images (instead of timing one random batch)")
    training.add_argument(
        "--data", help="uint8 images: a .npy of (N, 28, 28) or (N, 28, 28, 1), or a folder of MNIST-style IDX files"
    )
    training.add_argument("--train-epochs", type=positive_int, default=1, help="epochs before the first samples")
    training.add_argument(
        "--train-seconds", type=float, default=0.0, help="training seconds before the second samples (default 0)"
    )
    training.add_argument("--width", type=positive_int, default=32, help="ngf = ndf: channels next to the image")
    training.add_argument("--samples", type=positive_int, default=2000, help="images drawn each time")
    training.add_argument("--samples-out", help=f"folder for {' and '.join(SAMPLE_FILES.values())}")
    training.add_argument("--seed", type=int, default=0, help="seed of the weights, noise and shuffling")
    args = parser.parse_args(argv)
    if args.data and not args.samples_out:
        parser.error("--data needs --samples-out")
    if args.train_seconds < 0:
        parser.error(f"--train-seconds must be at least 0, not {args.train_seconds}")
    return args


def weights_init(module):
    """N(0, 0.02) convolutions, N(1, 0.02) BatchNorm scales, as the reference."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def generator(nz=100, ngf=64, nc=3):
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),  # 1x1x100 -> 4x4x512
        nn.BatchNorm2d(ngf * 8),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),  # 4x4x512 -> 8x8x256
        nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),  # 8x8x256 -> 16x16x128
        nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),  # 16x16x128 -> 32x32x64
        nn.BatchNorm2d(ngf),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),  # 32x32x64 -> 64x64x3
        nn.Tanh(),
    )


def discriminator(ndf=64, nc=3):
    return nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),  # 64x64x3 -> 32x32x64
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),  # -> 16x16x128
        nn.BatchNorm2d(ndf * 2),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),  # -> 8x8x256
        nn.BatchNorm2d(ndf * 4),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),  # -> 4x4x512
        nn.BatchNorm2d(ndf * 8),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),  # -> 1x1x1
        nn.Sigmoid(),
    )


def generator_28(nz=100, ngf=32, nc=1):
    """The reference G adapted to 28x28 as the toolkit's 28-pixel G is: a 7x7 core and two stride-2 layers."""
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 2, 7, 1, 0, bias=False),  # 1x1x100 -> 7x7x64
        nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),  # -> 14x14x32
        nn.BatchNorm2d(ngf),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),  # -> 28x28x1
        nn.Tanh(),
    )


def discriminator_28(ndf=32, nc=1):
    """The reference D adapted to 28x28: two stride-2 layers to a 7x7 core, then a valid 7x7 convolution."""
    return nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),  # 28x28x1 -> 14x14x32
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),  # -> 7x7x64
        nn.BatchNorm2d(ndf * 2),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, 1, 7, 1, 0, bias=False),  # -> 1x1x1
        nn.Sigmoid(),
    )


def make_step(net_g, net_d, batch_size, device, nz=100):
    """The reference's training iteration for these networks, with its Adams and BCE.

    Args:
        net_g, net_d: G and D, initialized.
        batch_size: images per step (every batch has this many).
        device: where the networks are.
        nz: length of z.

    Returns:
        A function `step(real)` that trains on one batch of real images in [-1, 1] and returns G's loss tensor.
    """
    criterion = nn.BCELoss()
    d_optimizer = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g_optimizer = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real_label = torch.full((batch_size,), 1.0, device=device)
    fake_label = torch.full((batch_size,), 0.0, device=device)

    def step(real):
        # D: real batch, then generated batch (detached), one update.
        net_d.zero_grad()
        d_loss_real = criterion(net_d(real).view(-1), real_label)
        d_loss_real.backward()
        fake = net_g(torch.randn(batch_size, nz, 1, 1, device=device))
        d_loss_fake = criterion(net_d(fake.detach()).view(-1), fake_label)
        d_loss_fake.backward()
        d_optimizer.step()
        # G: through the updated D on the same generated batch.
        net_g.zero_grad()
        g_loss = criterion(net_d(fake).view(-1), real_label)
        g_loss.backward()
        g_optimizer.step()
        return g_loss.detach()

    return step


def device_name(device):
    """The GPU's name, or "cpu"."""
    return torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu"


def benchmark(args, device):
    """Time the reference step on one random 64x64x3 batch; returns the JSON object to print."""
    torch.manual_seed(0)
    net_g, net_d = generator().to(device), discriminator().to(device)
    net_g.apply(weights_init)
    net_d.apply(weights_init)
    step = make_step(net_g, net_d, args.batch_size, device)
    real = torch.rand(args.batch_size, 3, 64, 64, device=device) * 2 - 1

    def measure(steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            g_loss = step(real)
        float(g_loss)
        return time.perf_counter() - start

    measure(args.warmup)
    best = min(measure(args.steps) for _ in range(args.repeats))
    return {
        "implementation": "pytorch reference DCGAN, eager fp32",
        "batch_size": args.batch_size,
        "steps": args.steps,
        "images_per_s": round(args.batch_size * args.steps / best, 1),
        "device": device_name(device),
        "torch": torch.__version__,
    }


def load_images(path):
    """Real 28x28 grayscale uint8 images from a .npy file or an IDX folder, as (N, 1, 28, 28) floats in [-1, 1].

    Raises:
        UserError: the file or folder cannot be read, or does not hold 28x28 uint8 images.
    """
    from utils.data.idx import load_idx

    path = Path(path)
    if path.is_dir():
        found = load_idx(path, "train")
        if found is None:
            raise UserError(f"--data {path} holds no IDX training images")
        images = found[0]
    else:
        try:
            images = np.load(path)
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read --data {path}: {exc}") from None
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.dtype != np.uint8 or images.shape[1:] != (28, 28):
        raise UserError(f"--data {path} holds {images.dtype} images of shape {images.shape[1:]}, not 28x28 uint8")
    return torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0)[:, None]


def draw_samples(net_g, count, seed, device, nz=100):
    """`count` images of G in evaluation mode (BatchNorm's moving statistics), (count, 28, 28, 1) float32."""
    noise = torch.randn(count, nz, 1, 1, generator=torch.Generator().manual_seed(seed)).to(device)
    net_g.eval()
    with torch.no_grad():
        images = torch.cat([net_g(noise[i : i + 500]) for i in range(0, count, 500)])
    net_g.train()
    return images.permute(0, 2, 3, 1).cpu().numpy().astype(np.float32)


def train(args, device):
    """Train the 28x28 reference on `--data`; write its samples after the epochs and after the seconds.

    Training runs until both `--train-epochs` epochs and `--train-seconds` seconds have passed; the clock counts
    the training steps only (not loading the data nor drawing the samples).

    Returns:
        The JSON object to print: the settings and, under "after_epochs" and "after_seconds", the epochs, steps
        and training seconds at which each set of samples was drawn.
    """
    images = load_images(args.data).to(device)
    steps_per_epoch = len(images) // args.batch_size  # the last incomplete batch is dropped, as the toolkit does
    if steps_per_epoch == 0:
        raise UserError(f"--data holds {len(images)} images, fewer than --batch-size {args.batch_size}")
    out = Path(args.samples_out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    net_g, net_d = generator_28(ngf=args.width).to(device), discriminator_28(ndf=args.width).to(device)
    net_g.apply(weights_init)
    net_d.apply(weights_init)
    step = make_step(net_g, net_d, args.batch_size, device)
    shuffle = torch.Generator().manual_seed(args.seed)
    done, seconds, steps = {}, 0.0, 0
    while len(done) < len(SAMPLE_FILES):
        order = torch.randperm(len(images), generator=shuffle).to(device)
        for index in range(steps_per_epoch):
            start = time.perf_counter()
            g_loss = step(images[order[index * args.batch_size : (index + 1) * args.batch_size]])
            float(g_loss)  # waits for the step on a GPU
            seconds += time.perf_counter() - start
            steps += 1
            reached = {"epochs": steps >= args.train_epochs * steps_per_epoch, "seconds": seconds >= args.train_seconds}
            for name in SAMPLE_FILES:
                if reached[name] and name not in done:
                    np.save(out / SAMPLE_FILES[name], draw_samples(net_g, args.samples, args.seed, device))
                    done[name] = {
                        "epochs": round(steps / steps_per_epoch, 3),
                        "steps": steps,
                        "seconds": round(seconds, 2),
                    }
            if len(done) == len(SAMPLE_FILES):
                break
    return {
        "implementation": "pytorch reference DCGAN (pytorch/examples recipe) at 28x28x1, eager fp32",
        "images": len(images),
        "batch_size": args.batch_size,
        "width": args.width,
        "steps_per_epoch": steps_per_epoch,
        "after_epochs": done["epochs"],
        "after_seconds": done["seconds"],
        "samples": args.samples,
        "device": device_name(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def main(argv=None):
    args = parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(json.dumps(train(args, device) if args.data else benchmark(args, device)))


if __name__ == "__main__":
    run_script(main)
