"""``graphnn predict`` on what users hand it: float arrays outside the range the network was trained on,
PNG and JPEG files (real files written here with Pillow), images of another size or colour, and files
that cannot be read; each refusal one line, exit 2."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import graphnn
from graphnn.cli import main

Image = pytest.importorskip("PIL.Image")
MLP = Path(__file__).resolve().parents[2] / "models" / "mlp784.json"


@pytest.fixture(scope="module")
def trained(mnist_dir, tmp_path_factory):
    """(bundle path, the first 5 test images uint8 (5, 28, 28), their labels)."""
    folder = tmp_path_factory.mktemp("predict")
    model = graphnn.load_model(MLP)
    model.fit(iterations=100, data_dir=str(mnist_dir), verbose=0)
    model.save(folder / "mlp.gnn")
    x, y = graphnn.datasets.load("mnist", "test", data_dir=mnist_dir)
    return folder / "mlp.gnn", x[:5], y[:5]


def predict(*arguments):
    result = CliRunner().invoke(main, ["predict", *map(str, arguments)])
    return result.exit_code, result.output


def classes(output):
    return [int(line.split(": ")[1].split()[0]) for line in output.splitlines() if not line.startswith("note")]


def test_float_arrays_outside_zero_one_are_refused_with_the_reason(trained, tmp_path):
    bundle, images, _ = trained
    np.save(tmp_path / "pixels.npy", images.astype(np.float32))  # 0..255 as floats
    code, output = predict(bundle, tmp_path / "pixels.npy")
    assert code == 2 and output.count("\n") == 1, output
    assert "float samples range over [0, 255], but the network was trained on mnist images scaled to [0, 1] " \
           "(uint8 / 255); they look like pixel values 0..255: divide them by 255, or save them as uint8" in output
    np.save(tmp_path / "standardised.npy", (images.astype(np.float32) - 33) / 78)
    code, output = predict(bundle, tmp_path / "standardised.npy")
    assert code == 2 and "range over [-0.4231, 2.846]" in output and "pixel values" not in output, output
    np.save(tmp_path / "scaled.npy", images.astype(np.float32) / 255)
    np.save(tmp_path / "uint8.npy", images)
    scaled, as_uint8 = predict(bundle, tmp_path / "scaled.npy"), predict(bundle, tmp_path / "uint8.npy")
    assert scaled[0] == 0 and scaled[1] == as_uint8[1]
    with pytest.raises(graphnn.errors.DataError, match="range over"):
        graphnn.load(bundle).predict(images.astype(np.float64))  # the Python API refuses them alike


def test_png_and_jpeg_files_are_samples(trained, tmp_path):
    bundle, images, _ = trained
    paths = []
    for index, image in enumerate(images):
        path = tmp_path / f"digit{index}.png"
        Image.fromarray(image, mode="L").save(path)
        paths.append(path)
    code, output = predict(bundle, *paths)
    assert code == 0 and output.splitlines()[0].startswith(str(paths[0])), output
    code, expected = predict(bundle, _npy(tmp_path, images))
    assert classes(output) == classes(expected)  # a PNG of a digit is that digit's array
    rgb = tmp_path / "digit0-rgb.jpg"  # colour, JPEG, 4x the size: read as grey, resized to 28x28
    Image.fromarray(images[0], mode="L").convert("RGB").resize((112, 112), Image.Resampling.NEAREST).save(rgb, quality=95)
    code, output = predict(bundle, rgb, "--json")
    assert code == 0 and f"note: {rgb} is 112x112; resized to 28x28\n" in output, output
    record = json.loads(output.splitlines()[-1])
    assert record["file"] == str(rgb) and record["class"] == classes(expected)[0]
    wide = tmp_path / "wide.png"
    Image.fromarray(np.zeros((28, 56), np.uint8), mode="L").save(wide)
    code, output = predict(bundle, wide)
    assert code == 0 and "resized to 28x28 (squeezed: another aspect ratio)" in output, output


def test_what_cannot_be_read_is_refused_in_one_line(trained, tmp_path):
    bundle, images, _ = trained
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really" * 10)
    text = tmp_path / "notes.png"
    text.write_text("hello")
    table = tmp_path / "table.csv"
    table.write_text("1,2,3\n")
    for path, said in ((broken, "cannot read as an image"), (text, "cannot read as an image"),
                       (table, "not a .npy, .npz, IDX (raw or .gz) or image file (PNG, JPEG); not an IDX file"),
                       (tmp_path / "missing.png", "No such file")):
        code, output = predict(bundle, path)
        assert code == 2 and output.count("\n") == 1 and said in output and str(path) in output, output
    good = tmp_path / "good.png"
    Image.fromarray(images[0], mode="L").save(good)
    code, output = predict(bundle, good, _npy(tmp_path, images))
    assert code == 2 and "not an image file" in output, output


def test_an_input_shape_with_no_image_size_is_said(tmp_path):
    from graphnn.errors import DataError
    from graphnn.predict import image_size

    assert image_size([784]) == (1, 28, 28) and image_size([3072]) == (3, 32, 32)
    assert image_size([1, 28, 28]) == (1, 28, 28) and image_size([32, 24]) == (1, 32, 24)
    with pytest.raises(DataError, match=r"which image size the input 'image' of shape \[10\] takes"):
        image_size([10])


def _npy(folder, array):
    path = folder / "array.npy"
    np.save(path, array)
    return path


def test_a_colour_input_reads_rgb_channels_first(tmp_path):
    """A network whose input is [3, 8, 8] gets an RGB image as (3, 8, 8): red, green, blue planes."""
    g = graphnn.Graph("colour")
    image = g.data("image", shape=[3, 8, 8])
    g.loss(g.fc(g.flatten(image), 2), g.data("label", shape=[], field="y"))
    model = g.build()
    model.save(tmp_path / "colour.gnn")
    pixels = np.zeros((8, 8, 3), np.uint8)
    pixels[..., 0], pixels[..., 2] = 200, 50  # red and a little blue
    Image.fromarray(pixels, mode="RGB").save(tmp_path / "red.png")
    from graphnn.predict import read_images

    samples, notes = read_images([tmp_path / "red.png"], (3, 8, 8))
    assert samples.shape == (1, 3, 8, 8) and notes == []
    assert (samples[0, 0] == 200).all() and (samples[0, 1] == 0).all() and (samples[0, 2] == 50).all()
    code, output = predict(tmp_path / "colour.gnn", tmp_path / "red.png", "--json")
    expected = model.predict(samples)[0]
    record = json.loads(output)
    assert code == 0 and abs(record["top"][0]["probability"] - float(expected.max())) < 1e-6, output


def test_a_data_node_with_a_transform_takes_raw_floats_as_its_uint8(trained, tmp_path):
    """Caffe's transform_param (scale 1/256) defines the input's range: floats 0..255 are not refused there,
    and a PNG, the uint8 array and the same values as floats predict alike."""
    _, images, _ = trained
    document = json.loads(MLP.read_text())
    document["nodes"][0]["transform"] = {"scale": 0.00390625}
    (tmp_path / "transformed.json").write_text(json.dumps(document))
    bundle = tmp_path / "transformed.gnn"
    graphnn.load_model(tmp_path / "transformed.json").save(bundle)  # its initial weights
    np.save(tmp_path / "uint8.npy", images)
    np.save(tmp_path / "floats.npy", images.astype(np.float32))
    Image.fromarray(images[0]).save(tmp_path / "first.png")
    as_uint8, as_floats = predict(bundle, tmp_path / "uint8.npy"), predict(bundle, tmp_path / "floats.npy")
    assert as_uint8[0] == 0 and as_floats == as_uint8, as_floats
    assert classes(predict(bundle, tmp_path / "first.png")[1]) == classes(as_uint8[1])[:1]
