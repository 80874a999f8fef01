"""Colab paths with a stand-in `google.colab`: outputs go to Google Drive when PERSIST asks, else stay here."""

import sys
import types

import pytest

from utils.notebook import colab


@pytest.fixture
def fake_colab(monkeypatch, tmp_path):
    """A `google.colab` whose `drive.mount` records its mount point; Drive is a folder of tmp_path."""
    mounts = []
    google, colab_module = types.ModuleType("google"), types.ModuleType("google.colab")
    colab_module.drive = types.SimpleNamespace(mount=mounts.append)
    google.colab = colab_module
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab_module)
    monkeypatch.setattr(colab, "DRIVE", tmp_path / "drive")
    return mounts


def test_elsewhere_the_folders_stay_in_the_repository(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", None)  # importing it fails, as off Colab
    assert not colab.on_colab()
    assert colab.persist_dirs("drive", "runs/mnist", "figures") == ("runs/mnist", "figures")


def test_on_colab_drive_is_mounted_and_holds_the_folders(fake_colab, tmp_path, capsys):
    assert colab.on_colab()
    found = colab.persist_dirs("drive", "runs/mnist", "figures", "saved_models")
    root = tmp_path / "drive" / "MyDrive" / "dcgan"
    assert found == (str(root / "runs/mnist"), str(root / "figures"), str(root / "saved_models"))
    assert fake_colab == [str(tmp_path / "drive")]
    assert str(root) in capsys.readouterr().out


def test_on_colab_none_keeps_the_clone(fake_colab):
    assert colab.persist_dirs(None, "runs/mnist") == ("runs/mnist",) and fake_colab == []


def test_a_wrong_setting_says_what_is_allowed():
    with pytest.raises(ValueError, match='PERSIST must be "drive" or None'):
        colab.persist_dirs("dropbox", "runs")
