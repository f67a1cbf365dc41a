"""Shared fixtures. No test downloads by accident: every test runs with ``GRAPHNN_OFFLINE=1`` and an empty
user cache of its own (the download tests turn downloads back on against a loopback server). Tests that
need MNIST take ``mnist_dir``, a folder with the four verified MNIST files, and pass it as ``data_dir``
or ``--data-dir``."""

from pathlib import Path

import pytest

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.fixture(scope="session", autouse=True)
def _offline_data(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRAPHNN_OFFLINE", "1")
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        patch.delenv("GRAPHNN_DATA", raising=False)
        patch.delenv("GRAPHNN_MIRRORS", raising=False)
        yield


@pytest.fixture(scope="session")
def shared_mnist():
    """The verified MNIST .gz files in ../shared/data/mnist (skips the test when that folder is absent)."""
    if not SHARED_MNIST.is_dir():
        pytest.skip(f"MNIST is not in {SHARED_MNIST} (the shared data folder beside the repository)")
    return SHARED_MNIST


@pytest.fixture(scope="session")
def mnist_dir(shared_mnist, tmp_path_factory):
    """A folder holding the four MNIST IDX files (.gz), found and verified by graphnn's own lookup."""
    from graphnn.datasets import verify_dataset

    folder = tmp_path_factory.mktemp("mnist")
    for source in shared_mnist.glob("*-ubyte.gz"):
        (folder / source.name).symlink_to(source)
    verified = verify_dataset("mnist", data_dir=folder)
    assert {found.place for _, found, _ in verified} == {"--data-dir"}
    return folder
