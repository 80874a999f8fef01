"""The tensorflow-datasets datasets of the registry, written small in their published raw formats, and the real
tfds builders run on them offline.

`tfds.testing.mock_data` returns random examples for any split name, so it cannot catch a wrong split. Here each
writer puts a few dozen deterministic examples into the files that the real download provides (gzipped IDX files,
the CIFAR-10 binary tarball, SVHN's MATLAB files, CelebA's zip and text lists, LFW's tarball), and `prepare` runs
the real builder's `download_and_prepare` on them with only its download patched: the builder's own parsing,
extraction (through tfds's real `DownloadManager.extract`), split assignment and encoding all run.

Every writer returns, per split, a `Written`: the number of examples, their labels (integer class labels where the
dataset has them), a digest of every image's exact pixels (lossless formats) or every image's base colour (JPEG
formats, whose pixels change a little), so that a test can check that what comes out is what was written.
"""

import dataclasses
import gzip
import hashlib
import io
import math
import tarfile
import tempfile
import urllib.parse
import zipfile
from pathlib import Path
from unittest import mock

import numpy as np

EXAMPLES = 24  # examples per split unless told otherwise

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CELEB_A_SIZE = (218, 178)  # (height, width) of the aligned CelebA images; tfds checks it
LFW_SIZE = (250, 250)  # (height, width) of LFW images; tfds checks it


@dataclasses.dataclass
class Written:
    """What a writer wrote for one split, in the order of the raw files.

    Attributes:
        count: number of examples.
        labels: int64 class labels (N,) as tfds reports them (SVHN's 10 already turned into 0), or None.
        digests: sha1 of every image's uint8 pixels, (H, W, C) in C order, for lossless formats; else None.
        colors: (N, 3) uint8 base colour of every image for JPEG formats (each pixel is it plus small noise); else None.
        names: per-example names where the format has them (CelebA file names, LFW person names); else None.
    """

    count: int
    labels: np.ndarray | None = None
    digests: list | None = None
    colors: np.ndarray | None = None
    names: list | None = None


def digest(image):
    """sha1 of a uint8 image's pixels (the comparison key of lossless formats)."""
    return hashlib.sha1(np.ascontiguousarray(image, np.uint8).tobytes()).hexdigest()


def _counts(splits, examples):
    return dict.fromkeys(splits, examples) if isinstance(examples, int) else dict(examples)


# --- MNIST and Fashion-MNIST: four gzipped IDX files --------------------------------------------------------------

IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _idx_bytes(array):
    """IDX encoding of a uint8 array: magic 0x00 0x00 0x08 ndim, big-endian int32 sizes, then the data."""
    array = np.ascontiguousarray(array, np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.tobytes()


def write_mnist(folder, examples=EXAMPLES, seed=0):
    """The four gzipped IDX files of MNIST (also Fashion-MNIST's format) in `folder`: 28x28 uint8 images, labels 0-9.

    Args:
        folder: where to write train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz,
            t10k-labels-idx1-ubyte.gz.
        examples: per split, an int or {"train": n, "test": m}.
        seed: seed of the pixels and labels.

    Returns:
        {split: Written}.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = {}
    for split, count in _counts(IDX_FILES, examples).items():
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = rng.permutation(np.arange(count) % 10).astype(np.uint8)
        images_file, labels_file = IDX_FILES[split]
        # mtime=0: the same bytes on every run.
        (folder / images_file).write_bytes(gzip.compress(_idx_bytes(images), mtime=0))
        (folder / labels_file).write_bytes(gzip.compress(_idx_bytes(labels), mtime=0))
        written[split] = Written(count, labels.astype(np.int64), [digest(image[..., None]) for image in images])
    return written


# --- CIFAR-10: cifar-10-binary.tar.gz holding cifar-10-batches-bin/ ------------------------------------------------


def write_cifar10(folder, examples=EXAMPLES, seed=0):
    """cifar-10-binary.tar.gz in `folder`, as published: cifar-10-batches-bin/data_batch_{1..5}.bin, test_batch.bin,
    batches.meta.txt and readme.html. Each record is 1 label byte and 3072 bytes of the R, G and B 32x32 planes; the
    train examples are spread over the five batch files in order.

    Returns:
        {"train": Written, "test": Written}.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    members = {}
    written = {}
    for split, count in _counts(("train", "test"), examples).items():
        images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
        labels = rng.permutation(np.arange(count) % 10).astype(np.uint8)
        records = [
            bytes([label]) + image.transpose(2, 0, 1).tobytes() for image, label in zip(images, labels, strict=True)
        ]
        if split == "train":
            for number, part in enumerate(np.array_split(np.arange(count), 5), 1):
                members[f"data_batch_{number}.bin"] = b"".join(records[i] for i in part)
        else:
            members["test_batch.bin"] = b"".join(records)
        written[split] = Written(count, labels.astype(np.int64), [digest(image) for image in images])
    # The published label file: one name a line, then blank lines.
    members["batches.meta.txt"] = ("\n".join(CIFAR10_CLASSES) + "\n\n").encode()
    members["readme.html"] = b"<html><body>CIFAR-10 binary version (test data)</body></html>\n"
    _write_tar(folder / "cifar-10-binary.tar.gz", "cifar-10-batches-bin", members)
    return written


def _write_tar(path, top, members):
    """A gzipped tarball of `top`/ and `top`/NAME for every {NAME: bytes} of `members`, with fixed times."""
    # No file name or time in the gzip header either: the same bytes on every run.
    with open(path, "wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as packed:
        _write_tar_members(packed, top, members)


def _write_tar_members(fileobj, top, members):
    with tarfile.open(fileobj=fileobj, mode="w") as tar:
        directories = {top} | {f"{top}/{name.rsplit('/', 1)[0]}" for name in members if "/" in name}
        for directory in sorted(directories):
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))


# --- SVHN cropped: three MATLAB files ------------------------------------------------------------------------------

SVHN_FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat", "extra": "extra_32x32.mat"}


def write_svhn_cropped(folder, examples=EXAMPLES, seed=0):
    """train_32x32.mat, test_32x32.mat and extra_32x32.mat in `folder`: X uint8 (32, 32, 3, N), y uint8 (N, 1) with
    labels 1..10, 10 standing for the digit 0 (the returned labels are the digits, as tfds reports them).

    Returns:
        {"train": Written, "test": Written, "extra": Written}.
    """
    from scipy.io import savemat

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = {}
    for split, count in _counts(SVHN_FILES, examples).items():
        images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
        digits = rng.permutation(np.arange(count) % 10)
        y = np.where(digits == 0, 10, digits).astype(np.uint8)[:, None]
        buffer = io.BytesIO()
        savemat(buffer, {"X": np.ascontiguousarray(images.transpose(1, 2, 3, 0)), "y": y})
        # The 116-byte text header holds the time of writing: a fixed one makes the file the same on every run.
        header = b"MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Thu Jan  1 00:00:00 1970".ljust(116)
        (folder / SVHN_FILES[split]).write_bytes(header + buffer.getvalue()[116:])
        written[split] = Written(count, digits.astype(np.int64), [digest(image) for image in images])
    return written


# --- JPEG images of known colour (CelebA, LFW) ---------------------------------------------------------------------

NOISE = 12  # each pixel of a JPEG test image is its base colour plus uniform noise in [-NOISE, NOISE]


def distinct_colors(count, rng):
    """`count` distinct RGB colours on a regular grid, in a seeded order; grid spacing = `color_spacing(count)`."""
    levels = max(2, math.ceil(count ** (1 / 3)))
    values = np.rint((np.arange(levels) + 0.5) * 256 / levels).astype(np.uint8)
    grid = np.stack(np.meshgrid(values, values, values, indexing="ij"), -1).reshape(-1, 3)
    return grid[rng.permutation(len(grid))[:count]]


def color_spacing(count):
    """Distance between neighbouring levels of `distinct_colors(count, ...)` in each channel."""
    return 256 / max(2, math.ceil(count ** (1 / 3)))


def _jpeg(color, size, rng):
    from PIL import Image

    noise = rng.integers(-NOISE, NOISE + 1, (*size, 3))
    pixels = np.clip(color.astype(np.int64) + noise, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


# --- CelebA: img_align_celeba.zip and four text lists ----------------------------------------------------------------

CELEB_A_SPLITS = ("train", "validation", "test")  # partition numbers 0, 1, 2 of list_eval_partition.txt
CELEB_A_LANDMARKS = [
    "lefteye_x",
    "lefteye_y",
    "righteye_x",
    "righteye_y",
    "nose_x",
    "nose_y",
    "leftmouth_x",
    "leftmouth_y",
    "rightmouth_x",
    "rightmouth_y",
]
CELEB_A_ATTRIBUTES = [
    "5_o_Clock_Shadow",
    "Arched_Eyebrows",
    "Attractive",
    "Bags_Under_Eyes",
    "Bald",
    "Bangs",
    "Big_Lips",
    "Big_Nose",
    "Black_Hair",
    "Blond_Hair",
    "Blurry",
    "Brown_Hair",
    "Bushy_Eyebrows",
    "Chubby",
    "Double_Chin",
    "Eyeglasses",
    "Goatee",
    "Gray_Hair",
    "Heavy_Makeup",
    "High_Cheekbones",
    "Male",
    "Mouth_Slightly_Open",
    "Mustache",
    "Narrow_Eyes",
    "No_Beard",
    "Oval_Face",
    "Pale_Skin",
    "Pointy_Nose",
    "Receding_Hairline",
    "Rosy_Cheeks",
    "Sideburns",
    "Smiling",
    "Straight_Hair",
    "Wavy_Hair",
    "Wearing_Earrings",
    "Wearing_Hat",
    "Wearing_Lipstick",
    "Wearing_Necklace",
    "Wearing_Necktie",
    "Young",
]
CELEB_A_FILES = (
    "img_align_celeba.zip",
    "list_eval_partition.txt",
    "list_attr_celeba.txt",
    "list_landmarks_align_celeba.txt",
    "identity_CelebA.txt",
)


def write_celeb_a(folder, examples=EXAMPLES, seed=0):
    """CelebA's aligned-image download in `folder`, as published:

    - img_align_celeba.zip: img_align_celeba/000001.jpg, ... (178x218 JPEGs, numbered across the splits in order);
    - list_eval_partition.txt: "000001.jpg 0" a line, 0/1/2 = train/validation/test, no header;
    - list_attr_celeba.txt: the number of images, the 40 attribute names, then "000001.jpg  1 -1 ..." lines;
    - list_landmarks_align_celeba.txt: the number of images, the 10 landmark names, then "000001.jpg 69 109 ..." lines;
    - identity_CelebA.txt: "000001.jpg 2880" a line, no header.

    Returns:
        {"train": Written, "validation": Written, "test": Written}, with `names` the image file names.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    counts = _counts(CELEB_A_SPLITS, examples)
    total = sum(counts.values())
    rng = np.random.default_rng(seed)
    colors = distinct_colors(total, rng)
    names = [f"{number:06d}.jpg" for number in range(1, total + 1)]
    partitions = np.repeat(np.arange(len(CELEB_A_SPLITS)), [counts[split] for split in CELEB_A_SPLITS])
    attributes = rng.choice([-1, 1], (total, len(CELEB_A_ATTRIBUTES)))
    landmarks = rng.integers(60, 160, (total, len(CELEB_A_LANDMARKS)))
    identities = rng.integers(1, 10178, total)

    with zipfile.ZipFile(folder / "img_align_celeba.zip", "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(zipfile.ZipInfo("img_align_celeba/", (1980, 1, 1, 0, 0, 0)), b"")
        for name, color in zip(names, colors, strict=True):
            info = zipfile.ZipInfo(f"img_align_celeba/{name}", (1980, 1, 1, 0, 0, 0))
            archive.writestr(info, _jpeg(color, CELEB_A_SIZE, rng))

    def table(rows):
        return "".join(f"{name} {' '.join(map(str, row))}\n" for name, row in zip(names, rows, strict=True))

    (folder / "list_eval_partition.txt").write_text(table(partitions[:, None]))
    (folder / "list_attr_celeba.txt").write_text(f"{total}\n{' '.join(CELEB_A_ATTRIBUTES)}\n{table(attributes)}")
    (folder / "list_landmarks_align_celeba.txt").write_text(
        f"{total}\n{' '.join(CELEB_A_LANDMARKS)}\n{table(landmarks)}"
    )
    (folder / "identity_CelebA.txt").write_text(table(identities[:, None]))

    written = {}
    for number, split in enumerate(CELEB_A_SPLITS):
        chosen = np.flatnonzero(partitions == number)
        written[split] = Written(len(chosen), colors=colors[chosen], names=[names[i] for i in chosen])
    return written


# --- LFW: lfw.tgz holding lfw/<Person_Name>/<Person_Name>_0001.jpg ---------------------------------------------------


def write_lfw(folder, examples=EXAMPLES, seed=0):
    """lfw.tgz in `folder`, as published: lfw/<Person_Name>/<Person_Name>_NNNN.jpg, 250x250 JPEGs; people have 1, 2
    or 3 images. LFW has only a train split in tfds.

    Returns:
        {"train": Written}, with `names` the person of every image (tfds's text label).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    count = _counts(("train",), examples)["train"]
    rng = np.random.default_rng(seed)
    colors = distinct_colors(count, rng)
    people, numbers = [], []  # person of every image, and the image's number for that person
    person_index = 0
    while len(people) < count:
        person_index += 1
        images = min(person_index % 3 + 1, count - len(people))  # 2, 3, 1, 2, 3, 1, ... images a person
        people += [f"Test_Person{person_index:02d}"] * images
        numbers += range(1, images + 1)
    members = {}
    for person, number, color in zip(people, numbers, colors, strict=True):
        members[f"{person}/{person}_{number:04d}.jpg"] = _jpeg(color, LFW_SIZE, rng)
    _write_tar(folder / "lfw.tgz", "lfw", members)
    return {"train": Written(count, colors=colors, names=people)}


# --- Running the real builders on the written files ----------------------------------------------------------------


def _mnist_urls(builder):
    return {urllib.parse.urljoin(type(builder).URL, name): name for pair in IDX_FILES.values() for name in pair}


def _cifar10_urls(builder):
    return {builder._cifar_info.url: "cifar-10-binary.tar.gz"}


def _svhn_urls(builder):
    from tensorflow_datasets.datasets.svhn_cropped import svhn_cropped_dataset_builder as module

    return {module.URL + name: name for name in SVHN_FILES.values()}


def _celeb_a_urls(builder):
    from tensorflow_datasets.datasets.celeb_a import celeb_a_dataset_builder as module

    urls = (module.IMG_ALIGNED_DATA, module.EVAL_LIST, module.ATTR_DATA, module.LANDMARKS_DATA, module.IDENTITY_DATA)
    return dict(zip(urls, CELEB_A_FILES, strict=True))


def _lfw_urls(builder):
    from tensorflow_datasets.datasets.lfw import lfw_dataset_builder as module

    return {module._URL: "lfw.tgz"}


def _mnist_counts(written):
    """The MNIST builder reads a fixed 60000/10000 examples: tell it the written counts (as tfds's own tests do)."""
    from tensorflow_datasets.image_classification import mnist

    return [
        mock.patch.object(mnist, "_TRAIN_EXAMPLES", written["train"].count),
        mock.patch.object(mnist, "_TEST_EXAMPLES", written["test"].count),
    ]


@dataclasses.dataclass(frozen=True)
class RawDataset:
    """How one dataset's raw files are written and what its builder calls to get them.

    Attributes:
        write: the writer, `write(folder, examples, seed) -> {split: Written}`.
        method: the `DownloadManager` method the builder calls ("download" or "download_and_extract").
        urls: builder -> {URL the builder asks for: raw file name}.
        patches: {split: Written} -> further `mock.patch` objects the builder needs, besides the download.
    """

    write: object
    method: str
    urls: object
    patches: object = None


RAW = {
    "mnist": RawDataset(write_mnist, "download_and_extract", _mnist_urls, _mnist_counts),
    "fashion_mnist": RawDataset(write_mnist, "download_and_extract", _mnist_urls, _mnist_counts),
    "cifar10": RawDataset(write_cifar10, "download_and_extract", _cifar10_urls),
    "svhn_cropped": RawDataset(write_svhn_cropped, "download", _svhn_urls),
    "celeb_a": RawDataset(write_celeb_a, "download", _celeb_a_urls),
    "lfw": RawDataset(write_lfw, "download_and_extract", _lfw_urls),
}


def _map_urls(function, urls):
    if isinstance(urls, dict):
        return {key: _map_urls(function, value) for key, value in urls.items()}
    if isinstance(urls, list | tuple):
        return type(urls)(_map_urls(function, value) for value in urls)
    return function(urls)


def fake_download(method, files, asked):
    """A stand-in for `DownloadManager.<method>` that 'downloads' each URL by returning its local file.

    For "download_and_extract" the local files then go through the real `DownloadManager.extract` (gunzip, untar,
    unzip into the download folder), as after a real download. A URL not in `files` fails the preparation.

    Args:
        method: "download" or "download_and_extract".
        files: {URL: local path}.
        asked: a list that receives every URL asked for.
    """

    def local(url):
        asked.append(url)
        if url not in files:
            raise AssertionError(f"the builder asked for an unexpected URL {url!r}; known: {sorted(files)}")
        return files[url]

    def fake(self, url_or_urls):
        paths = _map_urls(local, url_or_urls)
        return self.extract(paths) if method == "download_and_extract" else paths

    return fake


def write_raw(name, folder, examples=EXAMPLES, seed=0):
    """Write dataset `name`'s raw files into `folder`; returns {split: Written}."""
    return RAW[name].write(folder, examples, seed)


def prepare(name, data_dir, examples=EXAMPLES, seed=0):
    """Write `name`'s raw files into a temporary folder and run the real tfds builder on them into `data_dir`.

    Only the builder's download (`DownloadManager.download` or `download_and_extract`, whichever it calls) is
    patched, plus MNIST's fixed example counts. The downloads and extractions go to the temporary folder, so
    `data_dir` holds only the prepared dataset, which `tfds.load(name, data_dir=data_dir)` then reads.

    Args:
        name: a tfds name of `RAW` (mnist, fashion_mnist, cifar10, svhn_cropped, celeb_a, lfw).
        data_dir: the tfds data_dir to prepare into.
        examples: examples per split (an int, or {split: n}).
        seed: seed of the written content.

    Returns:
        {split: Written}, what was written for every split the dataset has.
    """
    import tensorflow_datasets as tfds

    raw = RAW[name]
    with tempfile.TemporaryDirectory(prefix=f"raw_{name}_") as temporary:
        folder = Path(temporary) / "raw"
        written = raw.write(folder, examples, seed)
        builder = tfds.builder(name, data_dir=str(data_dir))
        files = {url: folder / file_name for url, file_name in raw.urls(builder).items()}
        asked = []
        patches = [
            mock.patch.object(tfds.download.DownloadManager, raw.method, fake_download(raw.method, files, asked))
        ]
        patches += raw.patches(written) if raw.patches else []
        for patch in patches:
            patch.start()
        try:
            builder.download_and_prepare(download_dir=Path(temporary) / "downloads")
        finally:
            for patch in reversed(patches):
                patch.stop()
        if sorted(set(asked)) != sorted(files):
            raise AssertionError(f"{name}: the builder asked for {sorted(set(asked))}, expected {sorted(files)}")
    return written
