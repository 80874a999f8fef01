#!/usr/bin/env bash
# Around the training step on a GPU (benchmarks/RESULTS.md, issue 5 item 4): the input paths against one on-device
# batch, a folder's one-off decode, what the per-batch callbacks cost, several steps per call. Needs JAX, not
# TensorFlow.
# Usage: bash benchmarks/gpu_input.sh [FASHION_MNIST_DIR]   (gpu_suite.sh runs it too). Not yet run on a GPU.
set -u
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
py=${PYTHON:-python3}
data=${1:-/usr/share/datasets/fashion-mnist}

# 1. Does the input path keep up? Fashion-MNIST from memory through utils.data.load vs one on-device batch.
for input in "" "--input fashion_mnist --data-dir $data"; do
    # shellcheck disable=SC2086
    timeout 150 $py benchmarks/train_speed.py --backend jax --precision mixed_bfloat16 --architecture paper \
        --image-size 28 --batch-size 1024 --steps 50 --repeats 2 $input
done

# 2. A folder of JPEGs: decoded once (one thread per CPU against the former 8), then trained on from memory.
$py -c "import os; from benchmarks.folder_decode import write_jpegs; os.makedirs('runs/jpegs', exist_ok=True); write_jpegs('runs/jpegs', 10000)"
timeout 200 $py benchmarks/folder_decode.py --data-dir runs/jpegs --workers 0 8 --repeats 2
for input in "" "--input folder --data-dir runs/jpegs"; do
    # shellcheck disable=SC2086
    timeout 200 $py benchmarks/train_speed.py --backend jax --precision mixed_bfloat16 --architecture reference \
        --batch-size 1024 --steps 50 --repeats 2 --reuse-fakes $input
done

# 3. What the training run's per-batch callbacks cost per step: none, the toolkit's, Keras's stock ones.
timeout 150 $py benchmarks/callback_overhead.py --backend jax --architecture paper --image-size 28 --batch-size 128
timeout 150 $py benchmarks/callback_overhead.py --backend jax --architecture reference --image-size 64 \
    --precision mixed_bfloat16 --reuse-fakes --batch-size 128 --steps 50 --repeats 4

# 4. Several steps per call of the compiled step (fewer Python round trips), the fastest mode at batch 128.
for steps in 1 10; do
    timeout 150 $py benchmarks/train_speed.py --backend jax --precision mixed_bfloat16 --reuse-fakes --batch-size 128 \
        --steps 50 --repeats 3 --steps-per-execution $steps
done
