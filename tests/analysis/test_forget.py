"""Forgetting to draw: a hand-built G whose filter 2 draws a known box; the method must find and remove it."""

import json

import keras
import numpy as np
import pytest
from conftest import last_line, run_cli

from utils.analysis.forget import (
    find_filters,
    forget,
    forget_effect,
    generate_split,
    second_conv_name,
    split_index,
)
from utils.analysis.forget_regions import cell_fractions, check_mask_size, check_masks, parse_rule, rule_masks
from utils.cli import main
from utils.cli.forget import _load_masks
from utils.errors import UserError
from utils.training.config import ModelConfig
from utils.training.models import build_generator
from utils.training.samples import sample_latent

LATENT = 4
CONCEPT = 2  # the filter of up1 that draws the box
BOX = (0, 0, 16, 16)  # top, left, bottom, right in pixels: rows/columns 0-3 of the 7x7 map, 0-7 of up1's 14x14


def concept_generator():
    """z (4) -> 7x7x2 -> up1 14x14x4 -> 28x28x1, named like the toolkit's G. Filter 2 of up1 is the box.

    Map channel 0 is 1 + 0.2 z0 inside the top-left 4x4 cells and 0 elsewhere; channel 1 varies with z
    everywhere. up1's filter 2 copies channel 0; filters 0, 1, 3 copy channel 1 with other gains. to_image
    makes filter 2 bright and the others a dim texture, so the box is drawn only by filter 2.
    """
    model = keras.Sequential(
        [
            keras.Input((LATENT,), name="z"),
            keras.layers.Dense(7 * 7 * 2, name="project"),
            keras.layers.Reshape((7, 7, 2), name="reshape"),
            keras.layers.ReLU(name="project_relu"),
            keras.layers.Conv2DTranspose(4, 2, strides=2, padding="same", name="up1"),
            keras.layers.ReLU(name="up1_relu"),
            keras.layers.Conv2DTranspose(1, 2, strides=2, padding="same", name="to_image"),
            keras.layers.Activation("tanh", name="tanh"),
        ],
        name="generator",
    )
    rng = np.random.default_rng(0)
    kernel, bias = np.zeros((LATENT, 7, 7, 2)), np.zeros((7, 7, 2))
    bias[..., 0] = -1.0
    bias[:4, :4, 0], kernel[0, :4, :4, 0] = 1.0, 0.2
    bias[..., 1], kernel[..., 1] = 0.5, rng.normal(0, 0.2, (LATENT, 7, 7))
    model.get_layer("project").set_weights([kernel.reshape(LATENT, -1), bias.reshape(-1)])
    up = np.zeros((2, 2, 4, 2))  # (kh, kw, out, in)
    up[:, :, CONCEPT, 0] = 1.0
    up[:, :, [0, 1, 3], 1] = [0.5, 1.0, 0.8]
    model.get_layer("up1").set_weights([up, np.zeros(4)])
    to_image = np.full((2, 2, 1, 4), 0.1)
    to_image[:, :, 0, CONCEPT] = 3.0
    model.get_layer("to_image").set_weights([to_image, np.array([-1.0])])
    return model


@pytest.fixture(scope="module")
def drawn():
    generator = concept_generator()
    z = sample_latent(64, LATENT, seed=1)
    return generator, z, generate_split(generator, z)


def box_masks(count):
    return rule_masks(parse_rule("box:" + ",".join(map(str, BOX))), np.zeros((count, 28, 28, 1)))


def test_split_point_is_the_second_highest_conv_layer(tiny_model):
    generator = build_generator(tiny_model)
    assert second_conv_name(generator) == "up1"
    assert generator.layers[split_index(generator)].name == "up1_relu"
    large = build_generator(ModelConfig(image_size=64, channels=3, latent_dim=8, g_width=4, kernel_size=3))
    assert second_conv_name(large) == "up3" and large.layers[split_index(large)].name == "up3_relu"


def test_split_generator_draws_what_the_whole_generator_draws(tiny_model):
    generator = build_generator(tiny_model)
    z = sample_latent(5, tiny_model.latent_dim, 0)

    activations, images = generate_split(generator, z)

    assert activations.shape == (5, 14, 14, tiny_model.g_width)
    np.testing.assert_allclose(images, np.asarray(generator(z, training=False)), atol=1e-5)


def test_the_box_filter_is_found_and_dropping_it_removes_the_box(drawn):
    generator, z, before = drawn
    masks = box_masks(len(z))
    fractions = cell_fractions(masks, 14)

    found = find_filters(before[0], fractions, top_k=1)
    after = generate_split(generator, z, found["filters"])
    effect = forget_effect(before, after, fractions, masks)

    assert found["filters"] == [CONCEPT]
    assert found["accuracy"] > 0.99 and found["baseline"] < 0.9
    assert np.argmax(found["weights"]) == CONCEPT
    assert effect["pixel_change_in_region"] > 0.5 and effect["pixel_change_outside"] < 1e-6
    assert effect["mean_pixel_in_region_before"] > 0 > effect["mean_pixel_in_region_after"]
    assert effect["mean_activation_in_region_after"] < effect["mean_activation_in_region_before"]
    assert np.all(after[0][..., CONCEPT] == 0)


def test_bright_rule_marks_the_drawn_box_and_finds_the_same_filter(drawn):
    _, _, before = drawn
    masks = rule_masks(parse_rule("bright:0.5"), before[1])

    assert np.mean(masks == box_masks(len(masks))) > 0.99
    assert find_filters(before[0], cell_fractions(masks, 14))["filters"][0] == CONCEPT


def test_cell_fractions_average_blocks_of_pixels():
    masks = np.zeros((1, 4, 4), bool)
    masks[0, 0, :3] = True

    np.testing.assert_allclose(cell_fractions(masks, 2)[0], [[0.5, 0.25], [0.0, 0.0]])
    with pytest.raises(UserError, match="do not divide"):
        cell_fractions(np.zeros((1, 28, 28), bool), 5)


@pytest.mark.parametrize("rule", ["bright", "bright:1.5", "box:1,2,3", "box:5,0,2,4", "box:0,0,2.5,4", "blob:1"])
def test_bad_rules_are_user_errors(rule):
    with pytest.raises(UserError, match="bad --rule"):
        parse_rule(rule)


def test_a_box_outside_the_image_and_a_region_everywhere_are_refused():
    with pytest.raises(UserError, match="outside"):
        rule_masks(parse_rule("box:0,0,30,4"), np.zeros((2, 28, 28, 1)))
    with pytest.raises(UserError, match="every position"):
        find_filters(np.ones((4, 2, 2, 3)), np.ones((4, 2, 2)))


def test_masks_file_must_hold_one_mask_per_sample_of_the_image_size(tmp_path):
    np.save(tmp_path / "ok.npy", np.ones((3, 28, 28, 1), np.uint8))
    np.save(tmp_path / "short.npy", np.ones((2, 28, 28), bool))

    masks = _load_masks(tmp_path / "ok.npy", 3)
    assert masks.dtype == bool and masks.shape == (3, 28, 28)
    check_mask_size(masks, (28, 28, 1), "ok.npy")
    with pytest.raises(UserError, match=r"^masks in ok\.npy are 28x28, but the generator draws 32x32"):
        check_mask_size(masks, (32, 32, 3), "ok.npy")
    with pytest.raises(UserError, match=r"^the masks are 28x28, but the generator draws 32x32 images$"):
        check_mask_size(masks, (32, 32, 3))
    with pytest.raises(UserError, match=r"^the masks have shape \(3, 28\); --n 3 needs \(3, S, S\)"):
        check_masks(np.ones((3, 28), bool), 3)
    with pytest.raises(UserError, match=r"have shape \(2, 28, 28\)"):
        _load_masks(tmp_path / "short.npy", 3)
    (tmp_path / "broken.npy").write_bytes(b"not numpy")
    with pytest.raises(UserError, match="cannot read"):
        _load_masks(tmp_path / "broken.npy", 3)


def test_forget_finds_and_drops_the_box_filter_and_draws_only_with_out(tmp_path):
    generator = concept_generator()
    lines = []

    report = forget(generator, masks=box_masks(40)[..., None], n=40, seed=3, top_k=1, log=lines.append)

    z = sample_latent(40, LATENT, seed=3)
    before, masks = generate_split(generator, z), box_masks(40)
    fractions = cell_fractions(masks, 14)
    found = find_filters(before[0], fractions, top_k=1)
    effect = forget_effect(before, generate_split(generator, z, found["filters"]), fractions, masks)
    assert report == {
        "layer": "up1",
        "activation": "up1_relu",
        "filters": 4,
        "dropped_filters": [CONCEPT],
        "logreg_accuracy": found["accuracy"],
        "logreg_baseline": found["baseline"],
        "region_fraction": pytest.approx(16 * 16 / 28**2),
        **{key: pytest.approx(value, nan_ok=True) for key, value in effect.items()},
        "n": 40,
    }
    assert report["pixel_change_in_region"] > 0.5 and report["pixel_change_outside"] < 1e-6
    assert lines == [] and list(tmp_path.iterdir()) == []
    by_rule = forget(generator, rule="box:0,0,16,16", n=40, seed=3, top_k=1, out=tmp_path / "f.png", log=lines.append)
    assert by_rule == report
    assert lines == [f"wrote regions, before and after grids to {tmp_path / 'f.png'}"]
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    # the paper's threshold 0 drops every filter with a positive weight (the others have tiny ones), 0.5 only the box's
    assert sorted(forget(generator, rule="bright:0.5", n=40, seed=3)["dropped_filters"]) == [0, 1, 2, 3]
    assert forget(generator, rule="bright:0.5", n=40, seed=3, threshold=0.5)["dropped_filters"] == [CONCEPT]


def test_forget_rejects_bad_arguments():
    generator = concept_generator()
    for kwargs, message in [
        ({}, "give either masks or a rule"),
        ({"masks": box_masks(8), "rule": "bright:0.5"}, "give either masks or a rule"),
        ({"rule": "box:0,0"}, "bad --rule 'box:0,0'"),
        ({"rule": "bright:0.5", "top_k": 2, "threshold": 0.5}, "give top_k or threshold, not both"),
        ({"rule": "bright:0.5", "n": 0}, "n and top_k must be positive integers"),
        ({"masks": box_masks(7)}, r"the masks have shape \(7, 28, 28\); --n 8 needs"),
        ({"masks": box_masks(7), "masks_name": "m.npy"}, r"masks in m.npy have shape \(7, 28, 28\)"),
        ({"masks": np.ones((8, 32, 32), bool), "masks_name": "m.npy"}, "masks in m.npy are 32x32, but the generator"),
        ({"rule": "box:0,0,30,4"}, "outside"),
    ]:
        with pytest.raises(UserError, match=message):
            forget(generator, **{"n": 8, **kwargs})


# The command line: one run in a subprocess (~8 s), the errors in this process.


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from utils.training.models import build_discriminator
    from utils.training.saving import save_model

    root = tmp_path_factory.mktemp("forget")
    save_model(concept_generator(), root / "G.keras")
    save_model(build_discriminator(ModelConfig(image_size=28, channels=1, latent_dim=8, d_width=8)), root / "D.keras")
    np.save(root / "masks.npy", box_masks(40))
    np.save(root / "masks_short.npy", box_masks(39))
    np.save(root / "masks_large.npy", np.ones((40, 32, 32), bool))
    return root


def test_cli_forgets_the_box_given_as_masks(files):
    out = files / "forget.png"

    result = run_cli("forget", "--generator", files / "G.keras", "--masks", files / "masks.npy", "--n", 40,
                     "--seed", 3, "--top-k", 1, "--out", out)  # fmt: skip

    assert result.returncode == 0, result.stderr
    report = json.loads(last_line(result.stdout))
    assert report["layer"] == "up1" and report["dropped_filters"] == [CONCEPT]
    assert report["pixel_change_in_region"] > 0.5 and report["pixel_change_outside"] < 1e-6
    assert report["logreg_accuracy"] > 0.99
    assert out.read_bytes().startswith(b"\x89PNG")
    assert result.stdout.splitlines()[-2] == f"wrote regions, before and after grids to {out}"


def test_cli_bad_input_fails_with_one_line(files, capsys):
    cases = [
        (("--generator", "G.keras", "--masks", "masks_short.npy", "--n", 40), "have shape (39, 28, 28)"),
        (("--generator", "G.keras", "--masks", "masks_large.npy", "--n", 40), "masks_large.npy are 32x32, but"),
        (("--generator", "D.keras", "--rule", "bright:0.5"), "not a generator"),
        (("--generator", "G.keras", "--rule", "box:0,0"), "bad --rule"),
        (("--generator", "missing.keras", "--rule", "bright:0.5"), "missing.keras does not exist"),
        (("--generator", "G.keras", "--masks", "masks.npy", "--n", 40, "--latent-dim", 8), "latent size 4, not 8"),
    ]
    for args, fragment in cases:
        args = [str(files / arg) if str(arg).endswith((".keras", ".npy")) else str(arg) for arg in args]

        assert main(["forget", *args, "--out", str(files / "bad.png")]) == 2

        err = capsys.readouterr().err
        assert "Traceback" not in err and last_line(err).startswith("error:") and fragment in last_line(err), err
        assert not (files / "bad.png").exists()
