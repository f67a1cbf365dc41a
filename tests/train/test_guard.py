"""The divergence guard names the node, op and pass where training stopped being finite (a forward
overflow, non-finite weights, a non-finite gradient, caught before the solver updates anything) and
the iteration where the learning-rate policy failed."""

import numpy as np
import pytest

from graphnn.errors import TrainingError
from graphnn.model import model_from_dict
from graphnn.train.run import Run
from tests.helpers import make_trainer, model_document, write_data


def test_forward_overflow_names_the_first_node_that_produced_it(tmp_path):
    data = write_data(tmp_path, scale=1e39)  # finite samples (clipped to 3e38) whose sums overflow float32
    trainer = Run(model_from_dict(model_document(data, batchnorm=False, activation=None))).trainer
    with pytest.raises(TrainingError) as raised:
        trainer.run()
    error = raised.value
    assert (error.node, error.op) == ("fc1", "fc") and "forward" in str(error) and "iteration 0" in str(error)


def test_non_finite_weights_are_named_as_the_cause(tmp_path):
    trainer = make_trainer(tmp_path, batchnorm=False)
    trainer.network.weights["fc2"]["W"][0, 0] = np.nan
    with pytest.raises(TrainingError) as raised:
        trainer.run()
    assert raised.value.node == "fc2" and "weights W" in str(raised.value)


def test_a_non_finite_gradient_stops_the_step_before_the_update(tmp_path):
    trainer = make_trainer(tmp_path)
    act = trainer.model.plan.by_name["act"].op
    healthy = act.backward

    def poisoned(weights, cache, dy, needs, grads):
        dxs = healthy(weights, cache, dy, needs, grads)
        return [np.full_like(dxs[0], np.inf)]

    object.__setattr__(act, "backward", poisoned)  # ops are immutable; this test breaks one on purpose
    before = {node: {k: a.copy() for k, a in arrays.items()} for node, arrays in trainer.network.weights.items()}
    with pytest.raises(TrainingError) as raised:
        trainer.run()
    error = raised.value
    assert (error.node, error.op) == ("act", "activation") and "backward" in str(error) and "'bn'" in str(error)
    for node, arrays in before.items():  # the solver never ran
        for name, array in arrays.items():
            assert np.array_equal(trainer.network.weights[node][name], array)


def test_a_failing_lr_policy_is_a_training_error(tmp_path):
    trainer = make_trainer(tmp_path, lr={"policy": "exp", "base_lr": 0.1, "gamma": 1e300})
    with pytest.raises(TrainingError) as raised:
        trainer.run()
    assert raised.value.path == "/train/lr" and "iteration 2" in str(raised.value)
