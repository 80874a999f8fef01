"""TensorFlow: gradients by `tf.GradientTape`; also right under `tf.distribute` strategies."""

import contextlib
import inspect
import itertools
import os
import re

import tensorflow as tf
from keras import ops, tree

# Private APIs, checked against Keras 3.15.1 and TensorFlow 2.21.0 (tests/training/test_private_api.py fails
# when one moves): how Keras's own train step reduces its logs, and what Keras checks before compiling with XLA.
# This class also overrides Keras's private `_maybe_symbolic_build` (below).
from keras.src.backend.tensorflow.trainer import reduce_per_replica
from tensorflow.python.framework.config import is_op_determinism_enabled

from utils.errors import UserError
from utils.training.losses import discriminator_loss, generator_loss
from utils.training.parallel import Parallel
from utils.training.trainer import DCGANBase

REPLICA_SEED_STRIDE = 65_536  # replica r draws its noise with the seed (s + r * stride, step)


def make_deterministic():
    """Make TensorFlow's ops deterministic (same seed, same weights; slower on GPUs)."""
    tf.config.experimental.enable_op_determinism()


@contextlib.contextmanager
def data_parallel():
    """Build and train inside a `tf.distribute.MirroredStrategy` over every local GPU (else every logical CPU).

    Several machines: start one process per machine with TF_CONFIG set (the cluster's workers and this one's
    index); they then train inside a `tf.distribute.MultiWorkerMirroredStrategy` over the GPUs of all. Every
    process reads the same stream of global batches, of which tf.distribute gives each device its part.

    Yields:
        A `Parallel` with the number of replicas; the chief process (worker 0 unless a chief is named) writes.
    """
    if "TF_CONFIG" not in os.environ:
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        strategy = tf.distribute.MirroredStrategy([device.name for device in devices])
        with strategy.scope():
            yield Parallel(strategy.num_replicas_in_sync)
        return
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except (ValueError, KeyError, TypeError) as exc:  # TF_CONFIG that is not JSON or names no such task
        raise UserError(f"TF_CONFIG cannot be used: {exc}") from None
    resolver = strategy.cluster_resolver
    jobs = resolver.cluster_spec().as_dict()
    chiefs = len(jobs.get("chief", []))
    process = resolver.task_id + (chiefs if resolver.task_type == "worker" else 0)
    processes = chiefs + len(jobs.get("worker", []))
    # The chief (or worker 0) is process 0, the one that writes, as `strategy.extended.should_checkpoint` says.
    parallel = Parallel(strategy.num_replicas_in_sync, process=process, processes=processes)
    with strategy.scope():
        try:
            yield parallel
        except (tf.errors.UnavailableError, tf.errors.CancelledError, tf.errors.DeadlineExceededError) as exc:
            reason = re.sub(r"\{\{.*?\}\}\s*", "", exc.message).strip().splitlines()[0]  # drop TF's op names
            raise parallel.stopped(reason) from None


def without_autotuning(batches):
    """A tf.data stream of a Python iterator's batches, in order, with tf.data's autotuning off.

    Keras feeds a generator through tf.data with an autotuned prefetch. When `fit` returns, tearing that down
    waits for the autotuning thread's next wake-up: 0 to 10 s on a 2-core CPU, once per `fit` call. The
    toolkit's batches come from a prefetching thread already (`utils.data.epochs.prefetch`), so a fixed prefetch of
    one batch serves as well.

    Args:
        batches: an iterator of arrays or tuples of arrays, each with the batch first.

    Returns:
        A `tf.data.Dataset` of the same items (an empty iterator is returned as it is).
    """
    first = next(batches, None)
    if first is None:
        return batches
    signature = tree.map_structure(lambda array: tf.TensorSpec((None, *array.shape[1:]), array.dtype), first)
    dataset = tf.data.Dataset.from_generator(lambda: itertools.chain([first], batches), output_signature=signature)
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(1).with_options(options)


def _replica():
    """(this replica's index, number of replicas) in a tf.distribute step; (0, 1) outside one."""
    context = tf.distribute.get_replica_context()
    if context is None:
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def sum_gradient(function, inputs):
    """(function(inputs), gradient of the sum of its outputs with respect to `inputs`) for one float32 batch."""
    inputs = tf.convert_to_tensor(inputs)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = function(inputs)
        total = tf.reduce_sum(outputs)
    return ops.convert_to_numpy(outputs), ops.convert_to_numpy(tape.gradient(total, inputs))


class DCGAN(DCGANBase):
    __doc__ = DCGANBase.__doc__

    def compile(self, d_optimizer, g_optimizer, jit_compile="auto", **kwargs):
        """As `DCGANBase.compile`; "auto" compiles the step with XLA on CPUs too, where Keras would not.

        On 2 CPU cores this lifted the step's speed against a hand-written `tf.function` loop from 0.98-1.01 to
        1.01-1.04 times (benchmarks/RESULTS.md), for 4 to 10 s more compilation per model. As in Keras, XLA stays off
        under `tf.distribute` and with op determinism on; `DCGAN_XLA=off` turns it off too, where compiling costs
        more than it gains (tiny models, the test suite).
        """
        if jit_compile == "auto":
            jit_compile = (
                os.environ.get("DCGAN_XLA", "auto") != "off"
                and not tf.distribute.has_strategy()
                and not is_op_determinism_enabled()
            )
        super().compile(d_optimizer, g_optimizer, jit_compile=jit_compile, **kwargs)

    def train_step(self, data):
        """As `DCGANBase.train_step`, with every op after the batch: without XLA, TensorFlow would otherwise start
        ops that do not read it (the optimizers' step counters) in a call whose batch never comes (the data ended)."""
        with tf.control_dependencies([tensor for tensor in tf.nest.flatten(data) if tensor is not None]):
            return super().train_step(data)

    def make_train_function(self, force=False):
        """Build `fit`'s train function: `steps_per_execution` steps per call, each a `strategy.run` of the step.

        Keras's own function hands each batch over as an optional value, and runs several steps in a
        `tf.while_loop` over optional batches. Under tf.distribute that loop fails with "You must feed a value for
        placeholder tensor", even for a plain Dense model (keras-team/keras#19246); on one device, dropping the
        optionals made a small model's `fit` (widths 8, batch 16, 2-core CPU) 5% faster with one step per call and
        10% with 8 (benchmarks/RESULTS.md). The toolkit's calls never cross the end of its endless stream of
        batches (`utils.data.epochs.steps_per_call`), so each call takes exactly `steps_per_execution` batches; data
        that ends inside a call stops `fit` as Keras's own function would.
        """
        if self.train_function is not None and not force:
            return self.train_function
        strategy, steps = self.distribute_strategy, self.steps_per_execution
        step = self.train_step
        if not self.run_eagerly:
            step = tf.function(step, jit_compile=self.jit_compile, reduce_retracing=True)

        def run_steps(iterator):
            outputs = strategy.run(step, args=(next(iterator),))
            for _ in tf.range(steps - 1):
                outputs = strategy.run(step, args=(next(iterator),))
            return reduce_per_replica(outputs, strategy, reduction="auto")

        graph_steps = run_steps if self.run_eagerly else tf.function(run_steps, reduce_retracing=True)

        def train_function(iterator):
            if not isinstance(iterator, (tf.data.Iterator, tf.distribute.DistributedIterator)):
                # A Python iterator, as `train_on_batch` passes: its batches one by one, at most `steps`.
                for data in itertools.islice(iterator, steps):
                    outputs = strategy.run(step, args=(data,))
                return reduce_per_replica(outputs, strategy, reduction="auto")
            try:
                return graph_steps(iterator)
            except tf.errors.OutOfRangeError:  # the data ended inside this call
                raise StopIteration from None

        self.train_function = train_function
        return train_function

    def fit(self, x=None, *args, **kwargs):
        """As `keras.Model.fit`; a generator `x` is fed through `without_autotuning` (no wait after training)."""
        if inspect.isgenerator(x):
            x = without_autotuning(x)
        return super().fit(x, *args, **kwargs)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):  # private in Keras 3.15.1
        """Skip Keras's symbolic build, which under tf.distribute reads a batch from a new iterator of the
        training stream (tf.data prefetches, so several batches were lost; on several machines it fails while
        reducing that batch): G, D and both optimizers are built."""

    def track(self, d_loss, g_loss, d_real, d_fake):
        """As `DCGANBase.track`; on several machines each value has shape (1,), because Keras's `fit` reduces
        them across machines along axis 0, which a scalar lacks (keras-team/keras#20585)."""
        logs = super().track(d_loss, g_loss, d_real, d_fake)
        strategy = tf.distribute.get_strategy()
        if tf.distribute.has_strategy() and strategy.num_replicas_in_sync > len(strategy.extended.worker_devices):
            return {name: ops.reshape(value, (1,)) for name, value in logs.items()}
        return logs

    def sample_latent(self, batch_size):
        """Draw z ~ N(0, 1); under tf.distribute each replica gets its own noise (a SeedGenerator alone repeats it)."""
        replica, _ = _replica()
        seed = self.seed_generator.next()
        seed = seed + ops.cast(ops.stack([replica * REPLICA_SEED_STRIDE, 0]), seed.dtype)
        return tf.random.stateless_normal((batch_size, self.latent_dim), seed=ops.cast(seed, "int64"))

    def generate(self, batch_size):
        """G's images for fresh noise and the tape that recorded them, for the G step to backpropagate through."""
        tape = tf.GradientTape()
        with tape:
            fake_images = self.generator(self.sample_latent(batch_size), training=True)
        return fake_images, tape

    def d_step(self, real_images, fakes=None):
        """One update of D on a batch of real images and as many generated ones (`fakes`, else new ones).

        Returns:
            (d_loss, mean D(x), mean D(G(z))) of this replica's batch.
        """
        fake_images = tf.stop_gradient((fakes or self.generate(ops.shape(real_images)[0]))[0])
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
            d_loss = discriminator_loss(real_logits, fake_logits)
            # Replicas' gradients are summed: divide so the update follows the global batch's mean loss.
            scaled_loss = self.d_optimizer.scale_loss(d_loss / _replica()[1])
        gradients = tape.gradient(scaled_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(gradients, self.discriminator.trainable_variables, strict=True))
        return d_loss, ops.mean(ops.sigmoid(real_logits)), ops.mean(ops.sigmoid(fake_logits))

    def g_step(self, batch_size, fakes=None):
        """One update of G through the (fixed) current D, on `fakes` (from `generate`) or on new images.

        Returns:
            g_loss of this replica's batch.
        """
        variables = self.generator.trainable_variables
        fake_images, g_tape = fakes or self.generate(batch_size)
        with tf.GradientTape() as tape:  # the gradient at the images, then back through G's recorded pass
            tape.watch(fake_images)
            g_loss = generator_loss(self.discriminator(fake_images, training=True))
            scaled_loss = self.g_optimizer.scale_loss(g_loss / _replica()[1])
        upstream = tape.gradient(scaled_loss, fake_images)
        gradients = g_tape.gradient(fake_images, variables, output_gradients=upstream)
        self.g_optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return g_loss
