"""The Python face of graphnn, in Keras's style: a Model to fit, evaluate, predict with, summarise and save.

    import graphnn
    model = graphnn.load_model("models/mlp784.json")          # or graphnn.Graph(...).build()
    model.summary()                                            # the table `graphnn check` prints
    x, y = graphnn.datasets.load("mnist", "train")             # (60000, 28, 28) uint8, (60000,) int64
    history = model.fit(x, y, epochs=2, validation_split=0.1)  # History: .history["loss"], ["val_accuracy"]
    model.evaluate(x_test, y_test)                             # {"loss": ..., "accuracy": ..., "samples": ...}
    probabilities = model.predict(x_test)                      # (N, classes)
    model.save("mlp.gnn")
    graphnn.load("mlp.gnn").predict(x_test)                    # the same probabilities

There is one implementation behind this and the command line: ``fit`` is a Run (graphnn/train/run.py) of
the model's train section (for a model without one, graphnn/model/schema.py's FIT_TRAIN: batches of 32,
one epoch, Adam at 0.001, as Keras's compile and fit default to) with the arguments as overrides, on the arrays handed over (or, with none, on
the data the model file names), continuing from the model's current weights; it uses the same loop,
solver, divergence guard, snapshots and callbacks (graphnn/train/callbacks.py) as ``graphnn run``, and
the same display (graphnn/train/progress.py). Its run folder is ``run_dir``, or a temporary one that is
removed afterwards; ``fit(..., run_dir=D, resume=True)`` goes on from the snapshot a stopped fit left in D
(Ctrl-C, a kill), its callbacks and History too, as if it had never stopped. Arrays are fed as the run's batches are (graphnn/train/feeding.py): ``x`` uint8 images
(scaled by 1/255) or floats, in any shape holding as many values as the data node; ``y`` class indices
or one-hot rows.
"""

import json
import tempfile
from pathlib import Path

import numpy as np

from graphnn.errors import GraphnnError
from graphnn.model.load import Model as Definition
from graphnn.train.callbacks import Callback, expect, json_number


class History(Callback):
    """What ``fit`` returns: ``history``, a dict of lists with one value per epoch ("loss", "accuracy", and
    with validation "val_loss", "val_accuracy"; also "lr" and "iteration"), and ``epoch``, their numbers."""

    def __init__(self):
        self.history, self.epoch = {}, []

    def on_epoch_end(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def state_dict(self):
        return {"epoch": list(self.epoch),
                "history": {key: [json_number(value) for value in values] for key, values in self.history.items()}}

    def load_state_dict(self, state, arrays):
        epochs, history = expect(state, "epoch", list), expect(state, "history", dict)
        if not all(type(epoch) is int for epoch in epochs) or not all(
                isinstance(values, list) and len(values) == len(epochs) for values in history.values()):
            raise GraphnnError("must be epoch numbers and a list of values per metric for each", path="/history")
        self.epoch = list(epochs)
        self.history = {key: [float("nan") if value is None else value for value in values]
                        for key, values in history.items()}

    def __repr__(self):
        last = {key: values[-1] for key, values in self.history.items() if key not in ("lr", "iteration")}
        shown = ", ".join(f"{key}={value:.4g}" for key, value in last.items())
        count = len(self.epoch)
        return f"<graphnn.History: {count} epoch{'s' * (count != 1)}{'; last ' + shown if shown else ''}>"

    def plot_svg(self, metric="loss"):
        """The curves of ``metric`` and ``val_<metric>`` against the epoch, as SVG text (no matplotlib needed)."""
        from graphnn.viz.plot import line_chart_svg

        series = {key: list(zip(self.epoch, values)) for key, values in self.history.items()
                  if key in (metric, f"val_{metric}")}
        return line_chart_svg(series, metric, "epoch", metric)

    def _repr_html_(self):
        if not self.epoch:
            return None
        return "<div>" + "".join(self.plot_svg(metric) for metric in ("loss", "accuracy")
                                 if metric in self.history) + "</div>"


class Model(Definition):
    """A valid model (graphnn/model/load.py: its document, graph and plan) with its network (weights and
    state, graphnn/executor.py), made on first use with the train section's seed and dtype. It is a model
    wherever one is taken (``Network(model)``, ``Run(model)``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._network, self.metadata = None, {}

    @classmethod
    def of(cls, definition, network=None, metadata=None):
        """The Model of a loaded ``definition`` (graphnn.model.Model), with ``network`` when it has weights."""
        model = cls(definition.document, definition.graph, definition.plan, definition.file, definition.expansion)
        model._network, model.metadata = network, dict(metadata or {})
        return model

    @property
    def network(self):
        if self._network is None:
            from graphnn.executor import Network
            from graphnn.model.schema import TRAIN, with_defaults

            train = with_defaults(self.train or {}, TRAIN)
            self._network = Network.initialise(self, seed=train["seed"], dtype=train["dtype"])
        return self._network

    # training
    def fit(self, x=None, y=None, epochs=None, iterations=None, batch_size=None, validation_split=None,
            validation_data=None, callbacks=(), verbose=1, *, lr=None, seed=None, solver=None, run_dir=None,
            resume=False, data_dir=None):
        """Train on ``x``, ``y`` (or, with neither, on the data the model file names) from the current
        weights; returns a History. ``epochs``/``iterations``/``batch_size``/``lr``/``seed`` override the
        model's train section (which gives every default; with neither ``epochs`` nor ``iterations``, its
        own); a model without one trains with FIT_TRAIN (graphnn/model/schema.py: batches of 32, one epoch,
        Adam at lr 0.001) and ``solver`` (a solver section, e.g. ``{"type": "sgd", "momentum": 0.9}``, or its
        type, ``"sgd"``) instead of Adam. ``validation_split``: the last fraction of ``x``, ``y`` held out
        (before any shuffling, as Keras does) and evaluated after each epoch, as is ``validation_data`` =
        (x_val, y_val). ``callbacks``: graphnn.callbacks objects or callables ``f(epoch, logs)``.
        ``verbose``: 0 silent, 1 the progress display of ``graphnn run``. ``run_dir``: the run folder (default
        a temporary one); ``resume=True`` goes on from the snapshot there, given the same arguments, arrays
        and (new) callbacks as the stopped fit, and returns the History of the whole run."""
        from graphnn.train.progress import Progress
        from graphnn.train.run import Run

        if (x is None) != (y is None):
            raise TypeError("fit() takes both x and y, or neither (to train on the data the model file names)")
        if not self.train and x is None:
            raise GraphnnError("the model has no 'train' section naming data to train on; give fit() x and y",
                               file=self.file, path="/train")
        if resume and run_dir is None:
            raise ValueError("resume=True goes on from the snapshot in run_dir; name it")
        trainable = self._trainable(solver)
        train = validation = None
        if x is not None:
            train = self._split(x, y, "x")
            if validation_split:
                if not 0 < validation_split < 1:
                    raise ValueError(f"validation_split must be in (0, 1); got {validation_split!r}")
                held = int(len(train) * validation_split)
                if held < 1 or held >= len(train):
                    raise ValueError(f"validation_split={validation_split} of {len(train)} samples leaves "
                                     f"{held} for validation and {len(train) - held} for training")
                cut = len(train) - held
                validation = type(train)(train.x[cut:], train.y[cut:], train.num_classes, "validation_split")
                train = type(train)(train.x[:cut], train.y[:cut], train.num_classes, "x")
        elif validation_split:
            raise ValueError("validation_split needs x and y")
        if validation_data is not None:
            if validation is not None:
                raise ValueError("give validation_split or validation_data, not both")
            validation = self._split(*validation_data, "validation_data")
        history = History()
        overrides = {"epochs": epochs, "iterations": iterations, "batch_size": batch_size, "lr": lr, "seed": seed,
                     "data_dir": data_dir}
        memory = {"train": train, "callbacks": [history, *callbacks], "validation": validation}
        with tempfile.TemporaryDirectory(prefix="graphnn-fit-") as temporary:
            if resume:
                run = Run.resume(run_dir, trainable, overrides, **memory)
            else:
                run = Run(trainable, overrides, out=run_dir or temporary, network=self._network, **memory)
            progress = Progress(run.settings.iterations, run.settings.samples_per_iteration) if verbose else None
            run.train(log=progress, callbacks=[progress] if progress is not None else [])
        self._network = run.trainer.network
        self.metadata["training"] = {"iterations": run.trainer.iteration, "seed": run.settings.seed,
                                     "dtype": run.settings.dtype}
        return history

    def _trainable(self, solver):
        """This model, or for one without a train section, its copy with FIT_TRAIN (and ``solver``)."""
        from graphnn.errors import SchemaError
        from graphnn.model.jsontext import pointer
        from graphnn.model.schema import FIT_TRAIN, TRAIN
        from graphnn.model.validate import Validator, describe

        if self.train:
            if solver is not None:
                raise ValueError("solver= is for a model without a train section; this one's names its solver")
            return self
        section = json.loads(json.dumps(FIT_TRAIN))
        if solver is not None:
            section["solver"] = {"type": solver} if isinstance(solver, str) else dict(solver)
        error = next(iter(Validator(TRAIN).iter_errors(section)), None)
        if error is not None:
            raise SchemaError(f"fit(solver={solver!r}): {describe(error)}",
                              path="/train" + pointer(list(error.absolute_path)))
        document = {**self.document, "train": section}
        return Model.of(Definition(document, self.graph, self.plan, self.file, self.expansion), self._network,
                        self.metadata)

    def _split(self, x, y, source):
        """A Split of arrays ``x`` (N, ...) and ``y`` (indices or one-hot rows), with the model's classes."""
        from graphnn.datasets.split import make_split
        from graphnn.predict import check_samples
        from graphnn.train.evaluate import primary_loss

        x = check_samples(x)
        loss = self.plan.by_name[primary_loss(self.plan)]
        width = loss.in_shapes[0][0] if loss.in_shapes[0] else None
        if x.dtype.kind in "biu" and x.dtype != np.uint8:
            x = x.astype(self.network.dtype)
        return make_split(x, np.asarray(y), source, num_classes=width)

    # inference
    def evaluate(self, x, y, batch_size=None):
        """{"loss", "accuracy", "samples", "losses"} of the network in test mode on ``x``, ``y``."""
        from graphnn.model.schema import TEST, with_defaults
        from graphnn.train.evaluate import evaluate
        from graphnn.train.feeding import check_fields

        split = self._split(x, y, "x")
        check_fields(self.plan, split)
        batch_size = batch_size or with_defaults(self.test or {}, TEST)["batch_size"]
        metrics = evaluate(self.network, split, batch_size)
        accuracy = None if metrics["accuracy"] is None else float(metrics["accuracy"])  # None: a regression
        return {"loss": float(metrics["loss"]), "accuracy": accuracy, "samples": metrics["samples"],
                "losses": {name: float(value) for name, value in metrics["losses"].items()}}

    def predict(self, x, batch_size=1000):
        """Class probabilities (N, classes) for samples ``x`` (N, ...), as ``graphnn predict`` gives them
        (graphnn/predict.py: floats outside [0, 1] are refused for a network trained on scaled images)."""
        from graphnn.predict import check_range, check_samples, predict

        return predict(self.network, check_range(self, check_samples(x)), batch_size)[1]

    def predict_classes(self, x, batch_size=1000):
        """The most probable class of each sample, (N,)."""
        return self.predict(x, batch_size).argmax(axis=1)

    # looking at it
    def summary(self, print_fn=print):
        """Print the table of ``graphnn check``: node, op, inputs, output shape, parameters, FLOPs."""
        from graphnn.model.summary import format_table, summary_table

        print_fn(format_table(summary_table(self)))

    def __repr__(self):
        plan = self.plan
        state = "trained" if self.metadata.get("training") else "untrained"
        return (f"<graphnn.Model {self.name!r}: {len(plan.steps)} nodes, {plan.parameter_count():,} parameters, "
                f"{state}>")

    def _repr_html_(self):
        from html import escape

        from graphnn.model.summary import html_table, summary_table

        drawing = ""
        if len(self.plan.steps) <= 200:  # the drawing of a large network is better opened with graphnn viz
            try:
                from graphnn.viz.svg import graph_svg
                from graphnn.viz.view import view_of_model

                drawing = f"<div style=\"max-height:600px;overflow:auto\">" \
                          f"{graph_svg(view_of_model(self, self.name))}</div>"
            except Exception:  # noqa: BLE001 (the table alone still says what the model is)
                drawing = ""
        return f"<div><b>{escape(repr(self))}</b>{html_table(summary_table(self))}{drawing}</div>"

    def visualise(self):
        """The visualiser's page (``graphnn viz``: the graph, shapes, parameters, weight histograms) for this
        model and its current weights; shown inline in Jupyter, or ``.save("model.html")``."""
        from graphnn.viz.html import html_page
        from graphnn.viz.view import array_stats, view_of_model

        view = view_of_model(self, self.name, "bundle" if self._network is not None else "model")
        if self._network is not None:
            view.metadata = dict(self.metadata)
            for node in view.nodes:
                node.weights = {name: array_stats(array) for name, array in self._network.weights.get(node.name, {}).items()}
                node.state = {name: array_stats(array) for name, array in self._network.state.get(node.name, {}).items()}
        return Page(html_page(view), self.name)

    # files
    def bundle(self):
        """This model and its network as a Bundle (graphnn/io/bundle.py)."""
        from graphnn.io.bundle import Bundle

        network = self.network
        return Bundle(self, network.weights, network.state, dict(self.metadata))

    def save(self, path):
        """Write the model and its weights to ``path`` (a .gnn bundle); ``graphnn.load(path)`` reads it back."""
        from graphnn.io.bundle import save_bundle

        save_bundle(path, self.bundle())
        return Path(path)


class Page:
    """A self-contained HTML page (the visualiser's): inline in Jupyter (an iframe), or ``save(path)``."""

    def __init__(self, html, title="graphnn"):
        self.html, self.title = html, title

    def save(self, path):
        Path(path).write_text(self.html, encoding="utf-8")
        return Path(path)

    def _repr_html_(self):
        from html import escape

        return (f'<iframe title="{escape(self.title)}" srcdoc="{escape(self.html, quote=True)}" '
                'style="width:100%;height:640px;border:1px solid #ddd"></iframe>')

    def __repr__(self):
        return f"<graphnn visualiser page {self.title!r}: {len(self.html):,} characters>"


def load_model(path):
    """A Model, untrained, from a model file (.json)."""
    from graphnn.model import load_model as read

    return Model.of(read(path))


def load(path):
    """A Model from a bundle (.gnn: ``Model.save``, ``graphnn run``'s model.gnn, a snapshot) with its weights;
    a .json model file gives a fresh one."""
    if str(path).lower().endswith(".json"):
        return load_model(path)
    from graphnn.io.bundle import load_bundle

    bundle = load_bundle(path)
    return Model.of(bundle.model, bundle.network(), bundle.metadata)
