"""Read LSUN's published LMDB exports (a folder holding data.mdb: hex ids -> encoded webp/jpeg bytes) into arrays."""

import collections
import itertools
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import lmdb
import numpy as np
from PIL import Image

from utils.data.folder import decode_bytes, reasons_text, usable_cpus
from utils.errors import UserError

CHUNK = 1024  # values read ahead of the decoding threads: memory holds one chunk of encoded bytes, not the export


def is_lmdb(folder):
    """Whether `folder` is an LMDB folder (holds a data.mdb file)."""
    return Path(folder, "data.mdb").is_file()


def _open(folder):
    if not is_lmdb(folder):
        raise UserError(f"{folder} is not an LMDB folder (it holds no data.mdb)")
    try:
        return lmdb.open(str(folder), readonly=True, lock=False, readahead=False, subdir=True)
    except lmdb.Error as exc:
        raise UserError(f"cannot open the LMDB in {folder}: {' '.join(str(exc).split())}") from None


def lmdb_count(folder):
    """Count the entries of an LMDB folder without reading any value.

    Raises:
        UserError: the folder holds no data.mdb, or it cannot be opened.
    """
    env = _open(folder)
    try:
        return env.stat()["entries"]
    finally:
        env.close()


def _chosen_values(txn, chosen):
    # Walk the keys in order, copying out only the chosen values; stop after the last one.
    cursor, wanted = txn.cursor(), iter(chosen)
    target = next(wanted, None)
    for index, _ in enumerate(cursor.iternext(keys=True, values=False)):
        if index == target:
            yield cursor.value()
            target = next(wanted, None)
            if target is None:
                return


def load_lmdb(folder, image_size, channels, choose, workers=None):
    """Decode the chosen entries of an LMDB folder, in key order, in parallel threads.

    Args:
        folder: the folder holding data.mdb.
        image_size: output side in pixels.
        channels: 1 or 3.
        choose: called with the entry count before anything is decoded; returns the ascending indices (in key
            order) of the entries to keep, e.g. `lambda n: subset_indices(n, subset, seed)`.
        workers: decoding threads (OpenCV releases the GIL); by default one per usable CPU.

    Returns:
        (images (N, image_size, image_size, channels) uint8 in key order, skipped values as {reason: count}).

    Raises:
        UserError: the folder holds no data.mdb, cannot be opened or read, is empty, or no chosen value decodes.
        ValueError: `choose` returned no indices, or indices that are not ascending and below the entry count.
    """
    env = _open(folder)
    log_level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # skipped values are counted instead
    try:
        count = env.stat()["entries"]
        if count == 0:
            raise UserError(f"the LMDB in {folder} holds no entries")
        chosen = np.asarray(choose(count), dtype=np.int64)
        if chosen.size == 0 or chosen[0] < 0 or chosen[-1] >= count or np.any(np.diff(chosen) <= 0):
            raise ValueError(f"choose({count}) must return ascending indices below {count}")
        images = np.empty((len(chosen), image_size, image_size, channels), np.uint8)
        kept, skipped = 0, collections.Counter()
        with warnings.catch_warnings(), env.begin() as txn, ThreadPoolExecutor(workers or usable_cpus()) as pool:
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # huge pictures are counted too
            values = _chosen_values(txn, chosen.tolist())
            while chunk := list(itertools.islice(values, CHUNK)):
                for image, reason in pool.map(lambda raw: decode_bytes(raw, image_size, channels), chunk):
                    if image is None:
                        skipped[reason] += 1
                    else:
                        images[kept] = image
                        kept += 1
    except lmdb.Error as exc:
        raise UserError(f"cannot read the LMDB in {folder}: {' '.join(str(exc).split())}") from None
    finally:
        cv2.utils.logging.setLogLevel(log_level)
        env.close()
    if not kept:
        raise UserError(
            f"none of the {len(chosen)} chosen entries of the LMDB in {folder} could be read ({reasons_text(skipped)})"
        )
    return images[:kept], dict(skipped)


def lsun_folder(category, data_dir, split):
    """The LMDB folder of one LSUN category's split, as the LSUN release unpacks (`bedroom_train_lmdb`, `bedroom_val_lmdb`).

    `data_dir` is the split's LMDB folder itself (for the training split), or the folder holding the
    `<category>_<train|val>_lmdb` folders; the validation LMDB is also looked for beside a training one.

    Returns:
        The folder, or None when `data_dir` holds no LSUN LMDB at all (tensorflow-datasets is tried then).

    Raises:
        UserError: `data_dir` holds LSUN LMDBs, but not the one of `split`.
    """
    data_dir = Path(data_dir)
    tag = {"validation": "val"}.get(split, split)
    candidates = [data_dir] if split == "train" else []
    candidates.append(data_dir / f"{category}_{tag}_lmdb")
    if split != "train" and is_lmdb(data_dir):  # beside the training LMDB given
        candidates.append(data_dir.parent / f"{category}_{tag}_lmdb")
    found = next((folder for folder in candidates if is_lmdb(folder)), None)
    if found is None and (is_lmdb(data_dir) or is_lmdb(data_dir / f"{category}_train_lmdb")):
        looked = " or ".join(str(folder) for folder in candidates)
        raise UserError(f"no LMDB of LSUN {category}'s {split} split: looked for data.mdb in {looked}")
    return found
