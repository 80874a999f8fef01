"""utils.notebook.commands: `dcgan.py` subcommands run inside the kernel, and the classifier for arithmetic."""

from pathlib import Path

import pytest

from utils.notebook import commands as notebook_commands
from utils.training.config import model_config
from utils.training.models import build_discriminator, build_generator, trainable_params


def test_command_line_turns_keywords_into_flags():
    argv = notebook_commands.command_line(
        "arithmetic", "x", generator=Path("g.h5"), a_class=9, expect_class=None, quiet=True
    )
    assert argv == ["arithmetic", "x", "--generator", "g.h5", "--a-class", "9", "--quiet"]
    assert notebook_commands.command_line("sample", verbose=False, n=0) == ["sample", "--n", "0"]


def test_run_command_returns_the_json_line(capsys):
    result = notebook_commands.run_command("summary", image_size=28, channels=1, g_width=8, d_width=8)
    config = model_config("paper", image_size=28, channels=1, g_width=8, d_width=8)
    assert result == {
        "generator": trainable_params(build_generator(config)),
        "discriminator": trainable_params(build_discriminator(config)),
    }
    assert '"generator"' in capsys.readouterr().out  # the output is shown as well as captured


def test_run_command_raises_with_the_error_line(tmp_path):
    with pytest.raises(RuntimeError, match=r"exit code 2: error: .*does not exist"):
        notebook_commands.run_command("sample", generator=tmp_path / "missing.h5", out=tmp_path / "x.png")


def test_classifier_uses_an_existing_file_without_training(tmp_path, capsys):
    path = tmp_path / "given.keras"
    path.write_bytes(b"not read")
    assert notebook_commands.classifier("mnist", path) == path
    assert capsys.readouterr().out == f"classifier: {path}\n"
