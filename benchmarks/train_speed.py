"""Training speed of the toolkit's trainer against a hand-written `tf.function` loop, in one invocation.

Both train the same architecture on the same on-device batch (no input pipeline), with the same step:
one D update on real + generated images, one G update on fresh noise, Adam(2e-4, 0.5), BCE on logits.
Prints one JSON line: images_per_s (the toolkit's `fit`), reference_images_per_s and their ratio.

    python benchmarks/train_speed.py --backend tensorflow --image-size 28 --batch-size 128 --steps 30
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="tensorflow", choices=["tensorflow"], help="Keras backend")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--channels", type=int, help="default: 1 for 28-pixel images, else 3")
    parser.add_argument("--architecture", default="paper")
    parser.add_argument("--g-width", type=int)
    parser.add_argument("--d-width", type=int)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before measuring (tracing)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating measurements; the best of each is kept")
    return parser.parse_args(argv)


def reference_step(generator, discriminator, d_optimizer, g_optimizer, latent_dim):
    """A plain hand-written DCGAN step as users write it from the TensorFlow tutorial."""
    import tensorflow as tf

    bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def step(real):
        batch = tf.shape(real)[0]
        fake = generator(tf.random.normal((batch, latent_dim)), training=True)
        with tf.GradientTape() as tape:
            real_logits = discriminator(real, training=True)
            fake_logits = discriminator(fake, training=True)
            d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(tf.zeros_like(fake_logits), fake_logits)
        grads = tape.gradient(d_loss, discriminator.trainable_variables)
        d_optimizer.apply_gradients(zip(grads, discriminator.trainable_variables, strict=True))
        with tf.GradientTape() as tape:
            fake_logits = discriminator(generator(tf.random.normal((batch, latent_dim)), training=True), training=True)
            g_loss = bce(tf.ones_like(fake_logits), fake_logits)
        grads = tape.gradient(g_loss, generator.trainable_variables)
        g_optimizer.apply_gradients(zip(grads, generator.trainable_variables, strict=True))
        return d_loss, g_loss

    return step


def main(argv=None):
    args = parse_args(argv)
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    from utils.config import model_config
    from utils.models import build_discriminator, build_generator
    from utils.train import build_trainer

    channels = args.channels or (1 if args.image_size == 28 else 3)
    config = model_config(
        args.architecture, image_size=args.image_size, channels=channels, g_width=args.g_width, d_width=args.d_width
    )
    keras.utils.set_random_seed(0)
    real = tf.random.uniform((args.batch_size, args.image_size, args.image_size, channels), -1.0, 1.0)

    # The toolkit: DCGAN.fit on a dataset that repeats one on-device batch.
    gan = build_trainer(config)
    dataset = tf.data.Dataset.from_tensors(real).repeat()
    gan.fit(dataset, steps_per_epoch=args.warmup, epochs=1, verbose=0)

    def time_toolkit():
        start = time.perf_counter()
        history = gan.fit(dataset, steps_per_epoch=args.steps, epochs=1, verbose=0)
        float(history.history["g_loss"][-1])  # results are ready
        return time.perf_counter() - start

    # The reference: the same models in a hand-written tf.function loop.
    generator, discriminator = build_generator(config), build_discriminator(config)
    step = reference_step(
        generator,
        discriminator,
        keras.optimizers.Adam(2e-4, beta_1=0.5),
        keras.optimizers.Adam(2e-4, beta_1=0.5),
        config.latent_dim,
    )
    for _ in range(args.warmup):
        step(real)

    def time_reference():
        start = time.perf_counter()
        for _ in range(args.steps):
            losses = step(real)
        float(losses[1])
        return time.perf_counter() - start

    toolkit, reference = [], []
    for _ in range(args.repeats):
        toolkit.append(time_toolkit())
        reference.append(time_reference())
    images = args.batch_size * args.steps
    result = {
        "backend": args.backend,
        "architecture": args.architecture,
        "image_size": args.image_size,
        "channels": channels,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "images_per_s": round(images / min(toolkit), 1),
        "reference_images_per_s": round(images / min(reference), 1),
        "ratio": round(min(reference) / min(toolkit), 3),
        "device": tf.config.list_physical_devices("GPU")[0].name if tf.config.list_physical_devices("GPU") else "cpu",
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
