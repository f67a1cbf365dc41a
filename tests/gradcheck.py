"""The test suite's gradient checker is the library's (graphnn/gradcheck.py): one checker, which
``graphnn gradcheck`` runs on whole networks. Kept so that tests import it from here as before."""

from graphnn.gradcheck import (  # noqa: F401
    BATCH,
    check_op_gradients,
    differentiable,
    numerical_gradient,
    run_backward,
    run_forward,
    sample_inputs,
)
