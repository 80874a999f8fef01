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

# 3. Around the step: the input paths, a folder's decode, the per-batch callbacks.
bash benchmarks/gpu_input.sh "$data"

# 4. The PyTorch backend trains end to end too (one short epoch).
timeout 200 $py dcgan.py train --backend torch --dataset fashion_mnist --data-dir "$data" --subset 2048 \
    --epochs 1 --batch-size 128 --out runs/torch_check --overwrite && echo '{"torch_backend_run": "ok"}'
