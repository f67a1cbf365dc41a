"""glibc's malloc keeps the large blocks a pass frees for the next pass (graphnn/allocator.py)."""

import os
import resource
import subprocess
import sys

import numpy as np
import pytest

from graphnn import allocator
from graphnn.executor import Network
from graphnn.model.builder import Graph
from tests.helpers import ROOT

GLIBC = (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")


def faults_of_one_pass(size_bytes):
    """Minor page faults of allocating, filling and freeing ``size_bytes``, after one such pass."""
    for _ in range(2):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        block = np.ones(size_bytes // 4, np.float32)
        del block
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(not GLIBC, reason="tunes glibc's malloc only")
def test_building_a_network_keeps_freed_blocks_for_the_next_pass():
    g = Graph("tiny")
    g.loss(g.fc(g.data("x", shape=[3]), 2), g.data("y", shape=[], field="y"), "softmax_cross_entropy")
    Network.initialise(g.build())
    assert allocator.keep_freed_memory()
    assert faults_of_one_pass(8 << 20) < 64  # an 8 MiB array faulted in afresh takes 2,048 pages (or 4 huge ones)


def test_the_environment_can_leave_malloc_alone():
    code = ("import resource, numpy as np; from graphnn import allocator; "
            "print(allocator.keep_freed_memory())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                            env={**os.environ, allocator.OPT_OUT: "0"})
    assert result.stdout.strip() == "False"
