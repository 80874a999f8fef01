# Two commands for a new user (README): `make demo` trains on Fashion-MNIST, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_OUT := runs/fashion_mnist_demo
# Small enough to finish in about 10 minutes on a 2-core CPU, big enough for recognisable clothes.
DEMO_FLAGS := --dataset fashion_mnist --g-width 32 --d-width 32 --epochs 5 --batch-size 64

.PHONY: demo test test-fast lint benchmark clean

$(VENV)/installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/dev-installed: $(VENV)/installed requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

demo: $(VENV)/installed
	$(PY) dcgan.py train $(DEMO_FLAGS) --overwrite --out $(DEMO_OUT)
	@echo "Sample grids: $(DEMO_OUT)/samples/  animation: $(DEMO_OUT)/progress.gif  loss curve: $(DEMO_OUT)/loss.png"
	@echo "Saved models: $(DEMO_OUT)/generator.keras (.h5) and $(DEMO_OUT)/discriminator.keras (.h5)"

lint: $(VENV)/dev-installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The whole suite on TensorFlow, then the tests marked `backends` again on JAX and (when installed) PyTorch.
test: lint
	$(PY) -m pytest -n 2 --dist loadfile
	KERAS_BACKEND=jax $(PY) -m pytest -n 2 --dist loadfile -p no:cacheprovider -m backends
	@if $(PY) -c "import torch" 2>/dev/null; then \
		KERAS_BACKEND=torch $(PY) -m pytest -n 2 --dist loadfile -p no:cacheprovider -m backends; \
	else echo "PyTorch is not installed: the torch backend's training tests were skipped"; fi

# The edit-test loop: lint, then every test outside tests/system/ (the slow end-to-end ones).
test-fast: lint
	$(PY) -m pytest -n 2 -m "not system"

benchmark: $(VENV)/installed
	$(PY) benchmarks/train_speed.py --backend tensorflow --image-size 28 --batch-size 128 --steps 20

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
