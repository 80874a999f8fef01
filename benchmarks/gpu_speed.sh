#!/usr/bin/env bash
# The GPU speed comparison of benchmarks/RESULTS.md: the PyTorch reference DCGAN against the toolkit's fastest
# modes, at batch 128 and 1024, in one invocation (one JSON line per run). Needs JAX and PyTorch, not TensorFlow.
# Usage: bash benchmarks/gpu_speed.sh   (gpu_suite.sh runs it too)
set -u
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
py=${PYTHON:-python3}
speed() { timeout 150 $py benchmarks/train_speed.py --backend jax --steps 50 --repeats 3 "$@"; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
KERAS_BACKEND=jax $py -c "import jax, torch, keras; print('jax', jax.__version__, jax.devices(), 'torch', torch.__version__, 'keras', keras.__version__)"

# Reference architecture (64x64x3, ngf = ndf = 64), one random batch on the GPU. The reference runs before and
# after the toolkit at each batch size, since its speed varies between runs.
for batch in 128 1024; do
    timeout 120 $py benchmarks/torch_reference.py --batch-size $batch --steps 50 --repeats 3
    # bfloat16: D's update with one D call on both batches (the default on a GPU) and with two calls.
    speed --precision mixed_bfloat16 --batch-size $batch
    speed --precision mixed_bfloat16 --batch-size $batch --d-calls two
    # The reference's own algorithm: the G step reuses the D step's generated images (one G forward per step).
    speed --precision mixed_bfloat16 --batch-size $batch --reuse-fakes
    speed --precision mixed_bfloat16 --batch-size $batch --reuse-fakes --d-calls two
    timeout 120 $py benchmarks/torch_reference.py --batch-size $batch --steps 50 --repeats 3
done
# Does XLA's CUDA-graph capture (command buffers) matter at the small batch? The same run with it off.
XLA_FLAGS=--xla_gpu_enable_command_buffer= speed --precision mixed_bfloat16 --batch-size 128 --reuse-fakes
