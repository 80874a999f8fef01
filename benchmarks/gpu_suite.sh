#!/usr/bin/env bash
# The GPU measurements of benchmarks/RESULTS.md and the committed Fashion-MNIST run, in one invocation.
# Usage: bash benchmarks/gpu_suite.sh OUT_DIR [FASHION_MNIST_DIR]   (runs on a machine with JAX and PyTorch;
# TensorFlow is not needed). Every benchmark prints one JSON line; the run's folder is packed into OUT_DIR.
set -u
out=${1:?usage: gpu_suite.sh OUT_DIR [FASHION_MNIST_DIR]}
data=${2:-/usr/share/datasets/fashion-mnist}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
py=${PYTHON:-python3}

# 1. The committed run: the paper's architecture at 28x28 on all 60k Fashion-MNIST images, JAX, float32.
start=$(date +%s)
$py dcgan.py train --backend jax --dataset fashion_mnist --data-dir "$data" --architecture paper \
    --epochs 25 --batch-size 128 --seed 0 --out runs/fashion_mnist --overwrite
echo "{\"run\": \"fashion_mnist\", \"wall_s\": $(($(date +%s) - start))}"
tar czf "$out/fashion_mnist_run.tgz" --exclude=checkpoints --exclude=logs -C runs fashion_mnist

# 2. Training speed, reference architecture: the PyTorch reference loop against the toolkit.
bash benchmarks/gpu_speed.sh
timeout 150 $py benchmarks/train_speed.py --backend torch --precision float32 --batch-size 128 --steps 20 --repeats 2

# 3. Does the input path keep up? Fashion-MNIST from memory through utils.data vs one on-device batch.
for input in "" "--input fashion_mnist --data-dir $data"; do
    # shellcheck disable=SC2086
    timeout 150 $py benchmarks/train_speed.py --backend jax --precision mixed_bfloat16 --architecture paper \
        --image-size 28 --batch-size 1024 --steps 50 --repeats 2 $input
done

# 3b. A folder of JPEGs: decoded once (one thread per CPU against the former 8), then trained on from memory.
$py -c "import os; from benchmarks.folder_decode import write_jpegs; os.makedirs('runs/jpegs', exist_ok=True); write_jpegs('runs/jpegs', 20000)"
timeout 200 $py benchmarks/folder_decode.py --data-dir runs/jpegs --workers 0 8 --repeats 2
for input in "" "--input folder --data-dir runs/jpegs"; do
    # shellcheck disable=SC2086
    timeout 200 $py benchmarks/train_speed.py --backend jax --precision mixed_bfloat16 --architecture reference \
        --batch-size 1024 --steps 50 --repeats 2 --reuse-fakes $input
done

# 4. What the training run's per-batch callbacks cost per step: none, the toolkit's, Keras's stock ones.
timeout 150 $py benchmarks/callback_overhead.py --backend jax --architecture paper --image-size 28 --batch-size 128
timeout 150 $py benchmarks/callback_overhead.py --backend jax --architecture reference --image-size 64 \
    --precision mixed_bfloat16 --reuse-fakes --batch-size 128 --steps 50 --repeats 4

# 5. The PyTorch backend trains end to end too (one short epoch).
timeout 200 $py dcgan.py train --backend torch --dataset fashion_mnist --data-dir "$data" --subset 2048 \
    --epochs 1 --batch-size 128 --out runs/torch_check --overwrite && echo '{"torch_backend_run": "ok"}'
