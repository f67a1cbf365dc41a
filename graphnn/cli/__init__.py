"""The ``graphnn`` command. Subcommands live in their own modules and are imported only when run, so
``graphnn --help`` answers without loading NumPy.

Every graphnn error becomes one line on stderr and a non-zero exit: 2 for an invalid model or usage,
1 for a failure while running. No traceback reaches the user.
"""

import importlib

import click

# name -> (module, one-line help). The help is repeated here so that listing commands imports nothing.
COMMANDS = {
    "check": ("graphnn.cli.check", "Validate a model file and print its nodes, shapes, parameters and FLOPs."),
    "data": ("graphnn.cli.data", "Find or download a named dataset (mnist, fashion-mnist) and verify it."),
    "test": ("graphnn.cli.test", "Evaluate a saved network (.gnn) on its test set."),
    "lr-plot": ("graphnn.cli.lr_plot", "Draw the learning rate over the whole run from the train section, as SVG."),
    "predict": ("graphnn.cli.predict", "Print predicted classes and probabilities for samples in a file."),
    "diff": ("graphnn.cli.diff", "Compare two model files, bundles or run folders: nodes, settings and weights."),
    "export": ("graphnn.cli.export", "Export a trained network (.gnn) or a model file to ONNX."),
    "gradcheck": ("graphnn.cli.gradcheck", "Check every gradient against central differences, in float64."),
    "import": ("graphnn.cli.import_cmd", "Import an ONNX model as a graphnn model file and bundle."),
    "run": ("graphnn.cli.run", "Train a model file and test it; write the trained bundle and metrics."),
    "time": ("graphnn.cli.time", "Time each node's forward and backward pass and count its memory, on one batch."),
    "viz": ("graphnn.cli.viz", "Draw a model, bundle or run directory as an HTML page, SVG or DOT."),
}


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        return importlib.import_module(COMMANDS[name][0]).command

    def format_commands(self, ctx, formatter):
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in sorted(COMMANDS)])

    def invoke(self, ctx):
        from graphnn.errors import GraphnnError, ModelInvalid

        try:
            return super().invoke(ctx)
        except GraphnnError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(2 if isinstance(error, ModelInvalid) else 1)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="graphnn")
def main():
    """graphnn: neural networks as data.

    A network is a JSON model file: a DAG of named nodes that graphnn validates, trains and tests.
    """
