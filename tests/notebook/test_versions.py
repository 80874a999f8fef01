"""notebook.setup against requirements.txt's bounds: too old or too new is upgraded, or stops with one line."""

import importlib.metadata
import subprocess
import sys

import pytest

from utils import notebook
from utils.notebook import versions


@pytest.fixture
def requirements(tmp_path, monkeypatch):
    """A repository whose requirements.txt bounds keras and numpy, with comments and a `-r` line."""
    (tmp_path / "requirements.txt").write_text(
        "# comment\n-r other.txt\nkeras>=3.15,<3.16  # why\nnumpy>=1.26\nnot-installed-anywhere>=1.0\n"
    )
    monkeypatch.setattr(notebook, "ROOT", tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "requirements.txt"


def recording(runs):
    """A `subprocess.run` that records pip commands instead of running them, and runs anything else."""
    real = subprocess.run

    def run(command, *args, **kwargs):
        if command[1:3] == ["-m", "pip"]:
            runs.append(command)
            return None
        return real(command, *args, **kwargs)

    return run


def installed(**found):
    def version(name):
        if name not in found:
            raise importlib.metadata.PackageNotFoundError(name)
        return found[name]

    return version


def test_mismatches_name_the_package_the_version_found_and_the_bounds(requirements):
    required = versions.requirements(requirements)
    assert [str(r) for r in required] == ["keras<3.16,>=3.15", "numpy>=1.26", "not-installed-anywhere>=1.0"]
    assert versions.mismatches(required, installed(keras="3.15.1", numpy="2.0.0")) == []
    wrong = versions.mismatches(required, installed(keras="3.10.0", numpy="1.24.0"))
    assert versions.describe(wrong) == "keras 3.10.0 (needs <3.16,>=3.15), numpy 1.24.0 (needs >=1.26)"
    assert versions.mismatches(required, installed(keras="3.16.0", numpy="2.0.0"))[0][:2] == ("keras", "3.16.0")


def test_setup_without_install_stops_with_one_line(requirements, monkeypatch):
    monkeypatch.setattr(importlib.metadata, "version", installed(keras="3.10.0", numpy="2.0.0"))
    with pytest.raises(RuntimeError) as caught:
        notebook.setup(install=False)
    assert str(caught.value) == "wrong versions: keras 3.10.0 (needs <3.16,>=3.15); pip install -r requirements.txt"


def test_setup_upgrades_and_asks_for_a_restart_when_the_old_copy_is_loaded(requirements, monkeypatch, capsys):
    monkeypatch.setattr(importlib.metadata, "version", installed(keras="3.10.0", numpy="2.0.0"))
    import keras  # noqa: F401  as a kernel that imported the old Keras before setup ran

    runs = []
    monkeypatch.setattr(subprocess, "run", recording(runs))
    with pytest.raises(RuntimeError, match=r"upgraded keras, which this kernel had already imported: restart"):
        notebook.setup()
    assert runs == [[sys.executable, "-m", "pip", "install", "-q", "-r", str(requirements)]]
    assert "outside its bounds: keras 3.10.0 (needs <3.16,>=3.15)" in capsys.readouterr().out


def test_setup_installs_nothing_when_every_version_fits(requirements, monkeypatch, capsys):
    monkeypatch.setattr(importlib.metadata, "version", installed(keras="3.15.1", numpy="2.0.0"))
    runs = []
    monkeypatch.setattr(subprocess, "run", recording(runs))
    assert notebook.setup()["keras"] and runs == []
    assert "no GPU visible: training runs on the CPU" in capsys.readouterr().out
