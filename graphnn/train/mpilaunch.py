"""What an MPI launcher tells the processes it starts, read from the environment before NumPy (or MPI)
is loaded: how many ranks the job has, and how many of them share this machine.

    mpiexec -n 4 graphnn run model.json      # each process sees e.g. PMI_SIZE=4, MPI_LOCALNRANKS=4

``graphnn run`` trains data-parallel (graphnn/train/distributed.py) when it was started as one of several
ranks, and gives each rank's BLAS an equal share of the machine's cores, so that K ranks on one machine
do not each start a thread per core (K x cores threads fighting for the cores).
"""

import os

# the job's size and this machine's share of it, as mpich/hydra and Intel MPI (PMI_*, MPI_LOCALNRANKS),
# Open MPI (OMPI_*) and MVAPICH (MV2_*) export them
SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
LOCAL_SIZE_VARIABLES = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE", "MV2_COMM_WORLD_LOCAL_SIZE")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _first_count(environ, names):
    for name in names:
        value = environ.get(name, "")
        if value.isdigit() and int(value) >= 1:
            return int(value)
    return None


def launched_size(environ=os.environ):
    """Ranks in the MPI job that started this process (1 when no MPI launcher started it)."""
    return _first_count(environ, SIZE_VARIABLES) or 1


def share_cores(environ=os.environ, cores=None):
    """Give this rank's BLAS ``cores // ranks on this machine`` threads (at least 1), unless the user set a
    thread count; call it before NumPy is imported. Returns the count set, or None when left alone."""
    if any(name in environ for name in THREAD_VARIABLES):
        return None
    local = _first_count(environ, LOCAL_SIZE_VARIABLES) or launched_size(environ)
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = max(1, cores // local)
    for name in THREAD_VARIABLES:
        environ[name] = str(threads)
    return threads
