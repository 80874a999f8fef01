"""JAX: the whole step as a pure function of the model's state, which Keras's JAX `fit` compiles with `jax.jit`.

Keras's JAX trainer passes the state as four lists of values (trainable, non-trainable, optimizer and metric
variables) and expects one `model.optimizer`; `OptimizerPair` presents D's and G's optimizers as that one.
"""

import contextlib
import os

import jax
import keras
from keras import ops

from utils.training.losses import discriminator_loss, generator_loss
from utils.training.parallel import Parallel
from utils.training.trainer import DCGANBase


def make_deterministic():
    """Ask XLA for deterministic GPU kernels; it takes effect only if no JAX computation has run yet (CPUs are)."""
    flag = "--xla_gpu_deterministic_ops=true"
    if flag not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()


@contextlib.contextmanager
def data_parallel():
    """Train with `keras.distribution.DataParallel` over every device of every process.

    Several machines: start one process per machine with KERAS_DISTRIBUTION_JOB_ADDRESSES (the coordinator's
    host:port first), KERAS_DISTRIBUTION_NUM_PROCESSES and KERAS_DISTRIBUTION_PROCESS_ID set; this joins them
    with `keras.distribution.initialize()` before JAX computes anything. Each process then feeds its own part of
    every global batch; weights are replicated on every device.

    Yields:
        A `Parallel`: the devices of the whole run; process 0 writes; one shard of each batch per process.
    """
    if int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1")) > 1 and not jax.distributed.is_initialized():
        keras.distribution.initialize()
    devices = keras.distribution.list_devices()
    # Our input stream already yields this process's part of each batch (utils.data.epochs), so no auto-sharding.
    process, processes = jax.process_index(), jax.process_count()
    parallel = Parallel(len(devices), shard=process, shards=processes, process=process, processes=processes)
    with keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False).scope():
        try:
            yield parallel
        except jax.errors.JaxRuntimeError as exc:
            if processes == 1:
                raise
            raise parallel.stopped(str(exc).strip().splitlines()[0]) from None


def sum_gradient(function, inputs):
    """(function(inputs), gradient of the sum of its outputs with respect to `inputs`) for one float32 batch."""
    outputs, pullback = jax.vjp(function, jax.numpy.asarray(inputs))
    (gradients,) = pullback(jax.numpy.ones_like(outputs))
    return ops.convert_to_numpy(outputs), ops.convert_to_numpy(gradients)


class OptimizerPair:
    """D's and G's optimizers seen as the single `model.optimizer` whose variables Keras's JAX `fit` carries."""

    built = True

    def __init__(self, d_optimizer, g_optimizer):
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    @property
    def variables(self):
        return self.d_optimizer.variables + self.g_optimizer.variables


class State:
    """The values of a model's variables during one stateless step, looked up and replaced by variable."""

    def __init__(self, model, state):
        self.groups = (
            model.trainable_variables,
            model.non_trainable_variables,
            model.optimizer.variables,
            model.metrics_variables,
        )
        self.values = {}
        for group, values in zip(self.groups, state, strict=True):
            self.set(group, values)

    def get(self, variables):
        return [self.values[id(variable)] for variable in variables]

    def set(self, variables, values):
        self.values.update(zip(map(id, variables), values, strict=True))

    def scope(self, variables):
        """A `keras.StatelessScope` in which `variables` read (and write) their values here."""
        return keras.StatelessScope(state_mapping=list(zip(variables, self.get(variables), strict=True)))

    def state(self):
        return tuple(self.get(group) for group in self.groups)


def _scaled(optimizer, state, loss):
    """`optimizer.scale_loss(loss)` with the optimizer's variables (a loss scale, under mixed_float16) from `state`."""
    with state.scope(optimizer.variables):
        return optimizer.scale_loss(loss)


def _apply(optimizer, state, gradients, variables):
    """One optimizer update of `variables` in `state`."""
    new_values, new_optimizer_values = optimizer.stateless_apply(
        state.get(optimizer.variables), gradients, state.get(variables)
    )
    state.set(variables, new_values)
    state.set(optimizer.variables, new_optimizer_values)


class DCGAN(DCGANBase):
    __doc__ = DCGANBase.__doc__

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(d_optimizer, g_optimizer, **kwargs)
        self.optimizer = OptimizerPair(d_optimizer, g_optimizer)
        # D's update calls D once on the real and generated batch together (see `_d_logits`) on accelerators: on an
        # H100 5-8% faster at batch 128, no change at 1024; on a CPU about 10% slower (benchmarks/RESULTS.md).
        self.one_d_call = jax.default_backend() != "cpu"

    def _noise(self, state, batch_size):
        """z from the seed generator's state in `state` (which it advances)."""
        seed_variable = self.seed_generator.state
        with state.scope([seed_variable]) as scope:
            z = self.sample_latent(batch_size)
        state.set([seed_variable], [scope.get_current_value(seed_variable)])
        return z

    def generate(self, state, batch_size):
        """G's images for fresh noise and the pullback taking a gradient at them back to G's weights."""
        generator = self.generator
        z, g_non_trainable = self._noise(state, batch_size), state.get(generator.non_trainable_variables)

        def forward(trainable):
            return generator.stateless_call(trainable, g_non_trainable, z, training=True)

        fake_images, pullback, g_non_trainable = jax.vjp(
            forward, state.get(generator.trainable_variables), has_aux=True
        )
        state.set(generator.non_trainable_variables, g_non_trainable)
        return fake_images, pullback

    def _d_logits(self, trainable, non_trainable, real_images, fake_images):
        """D's logits for the real and the generated batch, called in that order, and its non-trainable values after.

        Where `_one_call_momenta` allows, both batches go through D in one call: `jax.vmap` over the pair turns every
        convolution into one of twice the batch, while BatchNorm still normalizes each batch by its own statistics
        (the same values and gradients as two calls, in half the kernel launches).
        """
        discriminator = self.discriminator

        def call(images, non_trainable):
            return discriminator.stateless_call(trainable, non_trainable, images, training=True)

        momenta = self._one_call_momenta()
        if momenta is None:
            real_logits, non_trainable = call(real_images, non_trainable)
            fake_logits, non_trainable = call(fake_images, non_trainable)
            return real_logits, fake_logits, non_trainable
        logits, after = jax.vmap(call, in_axes=(0, None))(jax.numpy.stack([real_images, fake_images]), non_trainable)
        # Both calls started from the same moving statistics; applying the real batch's update before the fake's:
        # m * (m * v + (1 - m) * real) + (1 - m) * fake = after_fake + m * (after_real - v).
        non_trainable = [
            new[1] + momentum * (new[0] - old) for new, old, momentum in zip(after, non_trainable, momenta, strict=True)
        ]
        return logits[0], logits[1], non_trainable

    def _one_call_momenta(self):
        """The momentum of each of D's non-trainable variables, if all are BatchNorm moving statistics, else None.

        None also when `one_d_call` is off, and under a distribution (sharding the stacked pair would move data).
        """
        if not self.one_d_call or keras.distribution.distribution() is not None:
            return None
        momenta = {}
        for layer in self.discriminator.layers:
            if isinstance(layer, keras.layers.BatchNormalization) and not layer.renorm:
                momenta.update({id(layer.moving_mean): layer.momentum, id(layer.moving_variance): layer.momentum})
        variables = self.discriminator.non_trainable_variables
        return [momenta[id(v)] for v in variables] if all(id(v) in momenta for v in variables) else None

    def d_update(self, state, real_images, fakes=None):
        """One update of D in `state` on real images and `fakes` (from `generate`) or new ones.

        Returns:
            (d_loss, mean D(x), mean D(G(z))).
        """
        discriminator = self.discriminator
        fakes = fakes or self.generate(state, ops.shape(real_images)[0])  # an unused pullback compiles away
        fake_images = jax.lax.stop_gradient(fakes[0])

        def loss_fn(trainable, non_trainable):
            real_logits, fake_logits, non_trainable = self._d_logits(trainable, non_trainable, real_images, fake_images)
            d_loss = discriminator_loss(real_logits, fake_logits)
            return _scaled(self.d_optimizer, state, d_loss), (d_loss, non_trainable, real_logits, fake_logits)

        gradients, (d_loss, non_trainable, real_logits, fake_logits) = jax.grad(loss_fn, has_aux=True)(
            state.get(discriminator.trainable_variables), state.get(discriminator.non_trainable_variables)
        )
        state.set(discriminator.non_trainable_variables, non_trainable)
        _apply(self.d_optimizer, state, gradients, discriminator.trainable_variables)
        return d_loss, ops.mean(ops.sigmoid(real_logits)), ops.mean(ops.sigmoid(fake_logits))

    def g_update(self, state, batch_size, fakes=None):
        """One update of G through the (fixed) current D in `state`, on `fakes` (from `generate`) or new images.

        Returns:
            g_loss.
        """
        discriminator = self.discriminator
        d_trainable = state.get(discriminator.trainable_variables)

        def loss_fn(fake_images, d_non_trainable):
            fake_logits, d_non_trainable = discriminator.stateless_call(
                d_trainable, d_non_trainable, fake_images, training=True
            )
            g_loss = generator_loss(fake_logits)
            return _scaled(self.g_optimizer, state, g_loss), (g_loss, d_non_trainable)

        # The gradient at the images, then back through G's recorded pass.
        fake_images, pullback = fakes or self.generate(state, batch_size)
        upstream, (g_loss, d_non_trainable) = jax.grad(loss_fn, has_aux=True)(
            fake_images, state.get(discriminator.non_trainable_variables)
        )
        (gradients,) = pullback(upstream)
        state.set(discriminator.non_trainable_variables, d_non_trainable)
        _apply(self.g_optimizer, state, gradients, self.generator.trainable_variables)
        return g_loss

    def train_step(self, state, data):
        state = State(self, state)
        real_images = self.real_images(data)
        batch_size = ops.shape(real_images)[0]
        # 1. Generate once for both updates (reuse_fakes), else let each update draw its own noise.
        fakes = self.generate(state, batch_size) if self.reuse_fakes else None
        # 2. Update D: real images -> 1, generated images -> 0.
        d_loss, d_real, d_fake = self.d_update(state, real_images, fakes)
        # 3. Update G: make the updated D call generated images real.
        g_loss = self.g_update(state, batch_size, fakes)
        # 4. Track running means, with the metric variables taken from and put back into the state.
        with state.scope(self.metrics_variables) as scope:
            logs = self.track(d_loss, g_loss, d_real, d_fake)
        state.set(self.metrics_variables, [scope.get_current_value(v) for v in self.metrics_variables])
        return logs, state.state()
