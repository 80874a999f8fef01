"""The hand-written TensorFlow training loop that `train_speed.py` and `tf_bounds.py` time the toolkit against.

The step is the TensorFlow DCGAN tutorial's: a `tf.function` with two `GradientTape`s, BCE on logits, and
Adam(2e-4, 0.5) on the toolkit's own G and D.
"""

import time


def reference_step(
    generator, discriminator, d_optimizer, g_optimizer, latent_dim, reuse_fakes=False, jit_compile=False
):
    """A plain hand-written DCGAN step as users write it from the TensorFlow tutorial (with `reuse_fakes`, the G
    step backpropagates through the D step's generated images, as users port the PyTorch reference; with
    `jit_compile`, compiled with XLA, which the tutorial does not do)."""
    import tensorflow as tf

    bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)

    def d_update(real, fake):
        with tf.GradientTape() as tape:
            real_logits = discriminator(real, training=True)
            fake_logits = discriminator(fake, training=True)
            d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(tf.zeros_like(fake_logits), fake_logits)
        grads = tape.gradient(d_loss, discriminator.trainable_variables)
        d_optimizer.apply_gradients(zip(grads, discriminator.trainable_variables, strict=True))
        return d_loss

    def step(real):
        batch = tf.shape(real)[0]
        d_loss = d_update(real, generator(tf.random.normal((batch, latent_dim)), training=True))
        with tf.GradientTape() as tape:
            fake_logits = discriminator(generator(tf.random.normal((batch, latent_dim)), training=True), training=True)
            g_loss = bce(tf.ones_like(fake_logits), fake_logits)
        grads = tape.gradient(g_loss, generator.trainable_variables)
        g_optimizer.apply_gradients(zip(grads, generator.trainable_variables, strict=True))
        return d_loss, g_loss

    def step_reusing_fakes(real):
        with tf.GradientTape() as tape:
            fake = generator(tf.random.normal((tf.shape(real)[0], latent_dim)), training=True)
            d_loss = d_update(real, tf.stop_gradient(fake))
            fake_logits = discriminator(fake, training=True)
            g_loss = bce(tf.ones_like(fake_logits), fake_logits)
        grads = tape.gradient(g_loss, generator.trainable_variables)
        g_optimizer.apply_gradients(zip(grads, generator.trainable_variables, strict=True))
        return d_loss, g_loss

    return tf.function(step_reusing_fakes if reuse_fakes else step, jit_compile=jit_compile)


def tensorflow_reference(config, real, args, jit_compile=False):
    """Build the hand-written tf.function loop on the same architecture (with XLA if `jit_compile`).

    Returns:
        A function that times one measurement of `args.steps` steps, in seconds.
    """
    import keras

    from utils.training.models import build_discriminator, build_generator

    generator, discriminator = build_generator(config), build_discriminator(config)
    step = reference_step(
        generator,
        discriminator,
        keras.optimizers.Adam(2e-4, beta_1=0.5),
        keras.optimizers.Adam(2e-4, beta_1=0.5),
        config.latent_dim,
        args.reuse_fakes,
        jit_compile,
    )
    return loop_timer(lambda: step(real), args.steps, args.warmup)


def loop_timer(call, steps, warmup):
    """Warm up `call` (one training step) `warmup` times, then return a function that times `steps` calls of it.

    Returns:
        A function giving the seconds until the last call's results are ready.
    """
    import keras

    for _ in range(warmup):
        call()

    def measure():
        start = time.perf_counter()
        for _ in range(steps):
            outputs = call()
        float(keras.tree.flatten(outputs)[-1])  # g_loss, of the losses or of the logs
        return time.perf_counter() - start

    return measure
