"""utils.data.examples: synthetic sprites and scikit-learn's digits written as folders of pictures."""

from utils.data import examples as example_data


def test_make_image_folder_writes_readable_nested_pictures(tmp_path):
    from utils.data.folder import list_images, load_folder

    folder = example_data.make_image_folder(tmp_path / "sprites", n=10, seed=3)
    files = list_images(folder)
    assert len(files) == 10 and any(path.parent.name == "nested" for path in files)
    images, skipped = load_folder(folder, 32, 3)
    assert images.shape == (10, 32, 32, 3) and not skipped
    assert images.std() > 10  # coloured blobs on white, not blank pictures
    again = example_data.make_image_folder(tmp_path / "again", n=10, seed=3)
    assert (again / "sprite_000.png").read_bytes() == (folder / "sprite_000.png").read_bytes()


def test_write_digits_folder_writes_every_digit_as_a_picture(tmp_path):
    from utils.data.folder import list_images, load_folder

    folder = example_data.write_digits_folder(tmp_path / "digits", size=16)
    files = list_images(folder)
    assert len(files) == 1797 and sorted({path.parent.name for path in files}) == [str(d) for d in range(10)]
    images, skipped = load_folder(folder, 16, 1)
    assert images.shape == (1797, 16, 16, 1) and not skipped
    assert images.min() == 0 and images.max() >= 250  # white strokes on black, the full range used
