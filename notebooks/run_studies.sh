#!/usr/bin/env bash
# The full-scale runs behind the committed experiment figures, on one GPU with JAX (no Jupyter or TensorFlow
# needed): the 128px step-time study alone (it times steps), then the BatchNorm, training-set-size and
# latent-size studies and a folder run on scikit-learn's digits side by side on the same GPU.
# Each notebook runs with utils.notebook.run_notebook; figures/ and saved_models/ receive what the notebooks write.
# Usage: bash notebooks/run_studies.sh LOG_DIR DIGITS_DIR   (Fashion-MNIST from /usr/share/datasets/fashion-mnist;
# DIGITS_DIR from `python -c "from utils.notebook import write_digits_folder as w; w('DIGITS_DIR')"`)
set -u
logs=${1:?usage: run_studies.sh LOG_DIR DIGITS_DIR}
digits=${2:?usage: run_studies.sh LOG_DIR DIGITS_DIR}
mkdir -p "$logs"
export KERAS_BACKEND=${KERAS_BACKEND:-jax} PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
py=${PYTHON:-python3}

notebook() {  # notebook() LIMIT_S NAME [-p NAME VALUE]...: run it, log to LOG_DIR/NAME.log, print one JSON line
    local limit=$1 name=$2 start=$SECONDS
    shift 2
    timeout "$limit" $py -m utils.notebook.run_notebook "notebooks/$name.ipynb" "$@" >"$logs/$name.log" 2>&1
    echo "{\"notebook\": \"$name\", \"rc\": $?, \"seconds\": $((SECONDS - start))}"
}

notebook "${LIMIT_128PX:-150}" experiment_128px -p TRAIN_STEPS "${TRAIN_STEPS_128PX:-500}"
notebook "${LIMIT:-330}" experiment_batchnorm &
notebook "${LIMIT:-330}" experiment_training_set_size &
notebook "${LIMIT:-330}" experiment_latent_size &
notebook "${LIMIT:-330}" folder -p DATA_DIR "$digits" -p NAME digits -p IMAGE_SIZE 32 -p CHANNELS 1 \
    -p EPOCHS "${DIGITS_EPOCHS:-100}" -p BATCH_SIZE 32 -p RUN_DIR runs/digits &
wait
