"""The widely used PyTorch reference DCGAN (pytorch/examples, dcgan/main.py) as a hand-written eager loop.

64x64 RGB, 4x4 kernels, ngf = ndf = 64, z of 100, Adam(2e-4, betas 0.5/0.999), BCE on D's sigmoid output,
per iteration: D on a real batch, D on G(z) (detached), one D step; then one G step through D on the same
G(z). Images are one random batch already on the device, as in `train_speed.py`. Prints one JSON line.

    python benchmarks/torch_reference.py --batch-size 128
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.cli.flags import positive_int


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--steps", type=positive_int, default=50, help="timed steps per measurement")
    parser.add_argument("--warmup", type=positive_int, default=5)
    parser.add_argument("--repeats", type=positive_int, default=3, help="measurements; the best is kept")
    return parser.parse_args(argv)


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


def main(argv=None):
    args = parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    net_g, net_d = generator().to(device), discriminator().to(device)
    net_g.apply(weights_init)
    net_d.apply(weights_init)
    criterion = nn.BCELoss()
    d_optimizer = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g_optimizer = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = torch.rand(args.batch_size, 3, 64, 64, device=device) * 2 - 1
    real_label = torch.full((args.batch_size,), 1.0, device=device)
    fake_label = torch.full((args.batch_size,), 0.0, device=device)

    def step():
        # D: real batch, then generated batch (detached), one update.
        net_d.zero_grad()
        d_loss_real = criterion(net_d(real).view(-1), real_label)
        d_loss_real.backward()
        fake = net_g(torch.randn(args.batch_size, 100, 1, 1, device=device))
        d_loss_fake = criterion(net_d(fake.detach()).view(-1), fake_label)
        d_loss_fake.backward()
        d_optimizer.step()
        # G: through the updated D on the same generated batch.
        net_g.zero_grad()
        g_loss = criterion(net_d(fake).view(-1), real_label)
        g_loss.backward()
        g_optimizer.step()
        return g_loss.detach()

    def measure(steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            g_loss = step()
        float(g_loss)
        return time.perf_counter() - start

    measure(args.warmup)
    best = min(measure(args.steps) for _ in range(args.repeats))
    print(
        json.dumps(
            {
                "implementation": "pytorch reference DCGAN, eager fp32",
                "batch_size": args.batch_size,
                "steps": args.steps,
                "images_per_s": round(args.batch_size * args.steps / best, 1),
                "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
                "torch": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
