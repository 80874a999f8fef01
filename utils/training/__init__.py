"""Training a DCGAN: settings, networks, losses, the trainer, and everything a run writes.

- `config`: `ModelConfig`, the `--architecture` presets, backends and precisions;
- `models`: generator and discriminator builders; `losses`: D and G losses;
- `trainer`: `DCGANBase`, what the trainer is on every backend; `backends`: the one place that picks the
  active Keras backend's step (`backends/tensorflow.py`, `jax.py`, `torch.py`); `parallel`: where a
  data-parallel run trains;
- `callbacks`, `diagnostics`: per-epoch outputs, saturation and collapse warnings; `checkpoint`, `saving`:
  training state and saved models; `interrupts`: Ctrl-C and SIGTERM;
- `samples`: latent, true and fake samples; `train`: one whole training or resumed run.

May import: `utils.data` and the helpers at `utils`'s top; never `analysis`, `cli` or `notebook`.
"""
