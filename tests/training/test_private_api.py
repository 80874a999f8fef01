"""The private Keras, TensorFlow and tensorflow-datasets APIs the toolkit relies on still exist and mean what they
meant.

Each was checked against Keras 3.15.1, TensorFlow 2.21.0 (requirements.txt bounds both above) and
tensorflow-datasets 4.9.10. A new release that moves one fails here, rather than training silently differently.
"""

import inspect

import keras
import pytest

from utils.training.callbacks import EpochTensorBoard, NonFiniteGuard

tf = pytest.importorskip("tensorflow")


def test_private_imports_of_the_tensorflow_trainer_exist():
    from keras.src.backend.tensorflow.trainer import reduce_per_replica
    from tensorflow.python.framework.config import is_op_determinism_enabled

    assert "reduction" in inspect.signature(reduce_per_replica).parameters
    assert is_op_determinism_enabled() in (True, False)


def test_overridden_private_methods_exist_in_keras():
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    from utils.training.backends.tensorflow import DCGAN

    base = inspect.signature(TensorFlowTrainer._maybe_symbolic_build).parameters
    assert list(base) == list(inspect.signature(DCGAN._maybe_symbolic_build).parameters)
    assert "_collect_learning_rate" in vars(keras.callbacks.TensorBoard)
    assert EpochTensorBoard._collect_learning_rate is not keras.callbacks.TensorBoard._collect_learning_rate


def test_keras_reads_the_async_safe_attribute_of_callbacks():
    from keras.src.callbacks.callback_list import CallbackList

    assert "async_safe" in inspect.getsource(CallbackList)
    assert EpochTensorBoard.async_safe and NonFiniteGuard.async_safe


def test_tfds_downloader_reads_its_retry_count_per_request():
    # utils.data.tfds_source lowers it while downloading, so that a machine without network fails in seconds.
    downloader = pytest.importorskip("tensorflow_datasets.core.download.downloader")

    assert isinstance(downloader.MAX_RETRIES, int)
    assert "total=MAX_RETRIES" in inspect.getsource(downloader._open_with_requests)
