"""Checks on an image file's bytes before decoding: is it complete, and how large is the picture it holds."""

import io
import math
import struct

from PIL import Image

MAX_PIXELS = 2**26  # 67 million pixels (8192 x 8192): larger pictures are skipped rather than decoded
MAX_FILE_BYTES = 2**29  # 512 MiB: larger files are skipped without being read


def read_header(raw):
    """Read the format and the pixel count from an image file's header, without decoding the pixels.

    Args:
        raw: the file's bytes.

    Returns:
        (format name such as "PNG" or "JPEG", width * height), or None when the header cannot be read.
        The format is None (and the count infinite) for pictures too large for Pillow to even open.
    """
    try:
        with Image.open(io.BytesIO(raw)) as image:
            return image.format, image.width * image.height
    except Image.DecompressionBombError:
        return None, math.inf
    except Exception:  # Pillow raises many types for files that are not images
        return None


def _jpeg_complete(raw):
    # The end-of-image marker must follow the last start-of-scan marker (0xFF cannot occur inside scans).
    last_scan = raw.rfind(b"\xff\xda")
    return last_scan >= 0 and raw.find(b"\xff\xd9", last_scan) >= 0


def _png_complete(raw):
    # Every PNG ends with an IEND chunk: four zero length bytes, "IEND", a four-byte CRC.
    end = raw.rfind(b"\x00\x00\x00\x00IEND")
    return end >= 8 and len(raw) >= end + 12


def _bmp_complete(raw):
    # The file header gives the file size (some writers leave it 0) and where the pixels start.
    if len(raw) < 14:
        return False
    declared, pixels_at = struct.unpack_from("<I", raw, 2)[0], struct.unpack_from("<I", raw, 10)[0]
    return len(raw) >= max(declared, pixels_at + 1)


def _webp_complete(raw):
    # A RIFF file: "RIFF", then the size of everything after these eight bytes.
    declared = struct.unpack_from("<I", raw, 4)[0] + 8 if len(raw) >= 8 else 2**32
    return len(raw) >= declared


_COMPLETE = {
    "JPEG": _jpeg_complete,
    "MPO": _jpeg_complete,  # what Pillow calls a JPEG holding several pictures
    "PNG": _png_complete,
    "BMP": _bmp_complete,
    "WEBP": _webp_complete,
}


def is_complete(raw, image_format):
    """Whether a file of a known format holds all the bytes its own structure announces (not truncated).

    Decoders differ in what they do with a cut file: some fail, some fill the missing rows with gray.
    Checking here means no decoder version can turn a truncated file into silently wrong pixels.

    Args:
        raw: the file's bytes.
        image_format: the format `read_header` found.

    Returns:
        False for a file cut short; True otherwise (and for formats without a check).
    """
    check = _COMPLETE.get(image_format)
    return check is None or check(raw)
