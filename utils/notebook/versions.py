"""Installed package versions against requirements.txt's bounds: what a notebook session must upgrade first."""

import importlib.metadata
import re
from pathlib import Path

# Distributions whose import name differs, for telling whether an old copy is already loaded in this kernel.
IMPORT_NAMES = {
    "opencv-python": "cv2",
    "pillow": "PIL",
    "scikit-learn": "sklearn",
    "tensorflow-datasets": "tensorflow_datasets",
}


def requirements(path):
    """The requirements of a requirements.txt file (comments and `-r` lines skipped), as `Requirement`s."""
    from packaging.requirements import InvalidRequirement, Requirement  # imported late: see utils.notebook

    found = []
    for line in Path(path).read_text().splitlines():
        line = re.sub(r"\s+#.*", "", line).strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            found.append(Requirement(line))
        except InvalidRequirement:
            continue
    return found


def mismatches(required, installed=None):
    """The installed requirements whose version falls outside the bounds (missing ones are not listed).

    Args:
        required: `Requirement`s, as `requirements` returns them.
        installed: distribution name -> installed version string, raising PackageNotFoundError when missing
            (default `importlib.metadata.version`).

    Returns:
        [(name, version found, the bounds, e.g. ">=3.15,<3.16")].
    """
    installed = installed or importlib.metadata.version
    found = []
    for requirement in required:
        try:
            version = installed(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            found.append((requirement.name, version, str(requirement.specifier)))
    return found


def describe(mismatched):
    """'keras 3.10.0 (needs >=3.15,<3.16), numpy 1.24.0 (needs >=1.26)' for `mismatches`' list."""
    return ", ".join(f"{name} {version} (needs {bounds})" for name, version, bounds in mismatched)


def import_name(distribution):
    """The module a distribution is imported as (`IMPORT_NAMES`, else its name with '-' as '_')."""
    return IMPORT_NAMES.get(distribution.lower(), distribution.lower().replace("-", "_"))
