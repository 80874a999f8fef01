"""One module per Keras backend, each holding the DCGAN trainer's gradient steps for that backend."""
