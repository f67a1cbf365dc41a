"""A Caffe solver (``solver.prototxt``) as a graphnn model's train section, and its test nets' iterations.

    SolverParameter           graphnn (train section unless said)
    type / solver_type        solver.type: sgd, nesterov, adagrad, rmsprop, adadelta, adam
    momentum, momentum2       solver.momentum, solver.momentum2
    delta, rms_decay          solver.delta, solver.rms_decay
    weight_decay              solver.weight_decay, with decay_biases (Caffe decays every blob by its decay_mult)
    regularization_type       solver.regularization_type (L2, L1)
    clip_gradients            solver.clip_gradients (Caffe's -1: off, left out)
    iter_size                 solver.iter_size
    base_lr, lr_policy        lr.base_lr, lr.policy (fixed, step, exp, inv, multistep, poly, sigmoid)
    gamma, power              lr.gamma, lr.power
    stepsize, stepvalue       lr.step_size, lr.steps
    max_iter                  iterations
    random_seed               seed (Caffe's -1, a clock seed: left out, graphnn's seed 0)
    display                   display_interval (0, never: left out)
    average_loss              average_loss
    (Data layers)             shuffle false (Caffe's Data layer reads its database in order)
    test_interval             test_interval
    test_initialization       test_initialization (when the net has a test set)
    test_iter                 test.iterations, one per test set (caffe_net.py places them)
    snapshot                  snapshot_interval

``snapshot_prefix`` has no field: a graphnn run writes its snapshots into its run folder (the prefix is kept in
the model's ``doc``). Fields that change no number (solver_mode, device_id, debug_info, snapshot_format, ...)
are dropped. ``net``/``train_net``/``test_net``: the net is the NET argument of ``graphnn import``.
"""

from graphnn.interop import caffe_fields, caffe_text

SOLVER_TYPES = {"SGD": "sgd", "Nesterov": "nesterov", "AdaGrad": "adagrad", "RMSProp": "rmsprop",
                "AdaDelta": "adadelta", "Adam": "adam"}
OLD_SOLVER_TYPES = {"SGD": "SGD", "NESTEROV": "Nesterov", "ADAGRAD": "AdaGrad", "RMSPROP": "RMSProp",
                    "ADADELTA": "AdaDelta", "ADAM": "Adam"}
POLICY_NEEDS = {"fixed": (), "step": ("gamma", "stepsize"), "exp": ("gamma",), "inv": ("gamma", "power"),
                "multistep": ("gamma", "stepvalue"), "poly": ("power",), "sigmoid": ("gamma", "stepsize")}
LR_FIELDS = (("gamma", "gamma"), ("power", "power"), ("stepsize", "step_size"))


def read_solver(path):
    """The decoded SolverParameter of the file ``path``."""
    return caffe_fields.decode(caffe_text.read(path), "SolverParameter", "solver", str(path))


def solver_type(solver, file):
    """Caffe's solver type, from ``type`` (a name, any case) or the old ``solver_type`` enum."""
    if solver.has("type"):
        by_lower = {name.lower(): name for name in SOLVER_TYPES}
        name = by_lower.get(solver["type"].lower())
        if name is None:
            raise solver.error(f"type '{solver['type']}' is not a Caffe solver; expected one of "
                               f"{', '.join(SOLVER_TYPES)}", "type", file)
        return name
    return OLD_SOLVER_TYPES[solver["solver_type"]]


def train_section(solver, file, data, batch_size, has_test):
    """The train section of a solver: ``data`` and ``batch_size`` come from the net's TRAIN Data layer;
    ``has_test``: whether the net has a test set (test_initialization is written then)."""
    kind = solver_type(solver, file)
    for name in ("base_lr", "max_iter"):
        if not solver.has(name):
            raise solver.error(f"needs {name}", None, file)
    if solver["base_lr"] <= 0:
        raise solver.error(f"base_lr must be > 0; got {solver['base_lr']}", "base_lr", file)
    if solver["max_iter"] < 1:
        raise solver.error(f"max_iter must be >= 1; got {solver['max_iter']}", "max_iter", file)
    settings = {"type": SOLVER_TYPES[kind]}
    if kind in ("AdaGrad", "RMSProp"):
        if solver["momentum"] != 0:
            raise solver.error(f"momentum cannot be used with {kind} (Caffe refuses it too)", "momentum", file)
    elif solver.has("momentum") or kind in ("AdaDelta", "Adam"):  # Caffe's momentum is 0 when absent
        settings["momentum"] = solver["momentum"]
    if kind == "Adam":
        settings["momentum2"] = solver["momentum2"]
    if kind in ("AdaGrad", "RMSProp", "AdaDelta", "Adam"):
        settings["delta"] = solver["delta"]
    if kind == "RMSProp":
        settings["rms_decay"] = solver["rms_decay"]
    if solver.has("weight_decay"):
        settings["weight_decay"] = solver["weight_decay"]
    settings["decay_biases"] = True
    if solver["regularization_type"] not in ("L1", "L2"):
        raise solver.error(f"regularization_type must be L1 or L2; got '{solver['regularization_type']}'",
                           "regularization_type", file)
    if solver["regularization_type"] != "L2":
        settings["regularization_type"] = solver["regularization_type"]
    if solver["clip_gradients"] >= 0:
        settings["clip_gradients"] = solver["clip_gradients"]
    if solver["iter_size"] != 1:
        if solver["iter_size"] < 1:
            raise solver.error(f"iter_size must be >= 1; got {solver['iter_size']}", "iter_size", file)
        settings["iter_size"] = solver["iter_size"]

    section = {"data": data, "batch_size": batch_size, "iterations": solver["max_iter"]}
    if solver["random_seed"] >= 0:
        section["seed"] = solver["random_seed"]
    section["solver"] = settings
    section["lr"] = learning_rate(solver, file)
    if solver["display"] > 0:
        section["display_interval"] = solver["display"]
    if solver["average_loss"] < 1:
        raise solver.error(f"average_loss must be >= 1; got {solver['average_loss']}", "average_loss", file)
    section["average_loss"] = solver["average_loss"]
    section["shuffle"] = False  # Caffe's Data layer reads its database in order, epoch after epoch
    if has_test:
        if solver["test_interval"] < 0:
            raise solver.error(f"test_interval must be >= 0; got {solver['test_interval']}", "test_interval", file)
        section["test_interval"] = solver["test_interval"]
        section["test_initialization"] = solver["test_initialization"]
    if solver["snapshot"] < 0:
        raise solver.error(f"snapshot must be >= 0; got {solver['snapshot']}", "snapshot", file)
    if solver["snapshot"]:
        section["snapshot_interval"] = solver["snapshot"]
    return section


def learning_rate(solver, file):
    """The lr section: Caffe's policy and the fields it reads (each required, as Caffe requires them)."""
    policy = solver["lr_policy"] if solver.has("lr_policy") else None
    if policy not in POLICY_NEEDS:
        raise solver.error(f"lr_policy must be one of {', '.join(POLICY_NEEDS)}; got "
                           f"{policy if policy is not None else 'none'}", "lr_policy" if policy else None, file)
    for name in POLICY_NEEDS[policy]:
        if not solver.has(name) and not (name == "stepvalue" and solver["stepvalue"]):
            raise solver.error(f"lr_policy '{policy}' needs {name}", "lr_policy", file)
    lr = {"policy": policy, "base_lr": solver["base_lr"]}
    for caffe_name, name in LR_FIELDS:
        if caffe_name in POLICY_NEEDS[policy]:
            lr[name] = solver[caffe_name]
    if policy == "multistep":
        steps = solver["stepvalue"]
        if any(step < 1 for step in steps) or steps != sorted(steps):
            raise solver.error(f"stepvalue must be increasing iterations >= 1; got {steps}", "stepvalue", file)
        lr["steps"] = list(steps)
    if policy == "step" and lr["step_size"] < 1:
        raise solver.error(f"stepsize must be >= 1; got {lr['step_size']}", "stepsize", file)
    return lr


def test_iterations(solver, count, file):
    """The test_iter of each of ``count`` test sets (None each when the solver gives none)."""
    given = solver["test_iter"]
    if not given:
        return [None] * count
    if len(given) != count:
        raise solver.error(f"{len(given)} test_iter for {count} test net{'s' if count != 1 else ''}; give one "
                           "per test_state", "test_iter", file)
    for index, value in enumerate(given):
        if value < 1:
            raise solver.error(f"test_iter must be >= 1; got {value}", "test_iter", file, index)
    return list(given)
