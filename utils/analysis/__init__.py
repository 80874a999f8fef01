"""What a trained DCGAN shows: one module per analysis of the paper and the source projects.

- `latent`: latent walks and their smoothness; `arithmetic`: vector arithmetic on z;
- `gradcam`, `guided_backprop`, `explain`: Grad-CAM and guided backprop on D, D's top filters;
- `features`, `svm`, `svm_solver`: D's pooled features and the linear L2-SVM protocols (paper 5.1);
- `neighbours`: nearest training images of generated ones (memorization);
- `fid`, `classifier`: FID/KID in the feature space of an offline classifier;
- `forget`: "forgetting to draw" a concept (paper 6.1).

Each analysis takes models and arrays (or a dataset name), returns its numbers as a dict and, when asked,
writes its figure; `dcgan.py`'s subcommands and the notebooks call the same functions.

May import: `utils.training`, `utils.data` and the helpers at `utils`'s top; never `cli` or `notebook`.
"""
