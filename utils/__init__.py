"""DCGAN toolkit: data, models, training and figures, shared by the CLI, notebooks and tests."""
