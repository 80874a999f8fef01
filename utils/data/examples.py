"""Small image folders written on the spot, so the folder notebook and smoke runs need no download.

`make_image_folder` draws synthetic sprites (the stand-in for a custom folder of pictures in smoke runs);
`write_digits_folder` writes scikit-learn's handwritten digits, a real dataset that ships with scikit-learn.
"""

from pathlib import Path


def make_image_folder(folder, n=64, seed=0):
    """Write `n` synthetic sprite-like PNG images (coloured blobs on white, varied sizes) into `folder`.

    Stands in for a custom folder of pictures (seed 002's Pokemon) in smoke runs: half of the files go
    into a subfolder, since folders are read recursively, and sizes vary so every image is resized.

    Returns:
        The folder as a `Path`.
    """
    import numpy as np
    from PIL import Image, ImageDraw

    folder = Path(folder)
    rng = np.random.default_rng(seed)
    sizes = ((96, 96), (120, 80), (64, 64), (80, 100))
    for index in range(n):
        width, height = sizes[index % len(sizes)]
        image = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(image)
        for _ in range(int(rng.integers(2, 5))):
            left, top = rng.integers(0, width // 2), rng.integers(0, height // 2)
            right, bottom = left + rng.integers(width // 4, width // 2), top + rng.integers(height // 4, height // 2)
            draw.ellipse(
                (int(left), int(top), int(right), int(bottom)), fill=tuple(int(c) for c in rng.integers(0, 256, 3))
            )
        target = folder / ("nested" if index % 2 else "") / f"sprite_{index:03d}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        image.save(target)
    return folder


def write_digits_folder(folder, size=32):
    """Write scikit-learn's 1,797 handwritten digits (8x8, 17 grey levels) as `size` x `size` PNG files.

    A second small dataset that needs no download, for the folder notebook: white digits on black, scaled up
    with bicubic interpolation, one subfolder per digit.

    Returns:
        The folder as a `Path`.
    """
    import cv2
    import numpy as np
    from sklearn.datasets import load_digits

    folder = Path(folder)
    digits = load_digits()
    for index, (image, label) in enumerate(zip(digits.images, digits.target, strict=True)):
        scaled = cv2.resize((image * (255 / 16)).astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
        target = folder / str(label) / f"digit_{index:04d}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(target), np.clip(np.rint(scaled), 0, 255).astype(np.uint8))
    return folder
