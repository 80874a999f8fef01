"""Where images come from: the dataset registry, its sources, image checks and the per-epoch stream.

- `registry`: dataset names, their sources, default sizes and whether they carry labels;
- `load`: `load_dataset` and `Data` (uint8 images in memory, `epochs()` for training, `dataset` for analysis);
- `idx`, `folder`, `tfds_source`: IDX files, folders of image files, tensorflow-datasets splits;
- `image_checks`: structural checks of image files before they are decoded;
- `epochs`: each epoch's order from (seed, epoch) alone, and the prefetching batch stream;
- `examples`: small image folders written on the spot (sprites, scikit-learn's digits).

May import: the helpers at `utils`'s top (`errors`, `files`, `images`). Nothing here imports Keras.
"""
