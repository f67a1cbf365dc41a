"""The ``graphnn`` command. Subcommands live in their own modules and are imported only when run, so
``graphnn --help`` answers without loading NumPy.

Whatever goes wrong becomes one line on stderr and an exit code, mapped here in one place
(``exit_code``): 2 for what the user can fix in the input or the command line (graphnn.errors.InputError,
any other GraphnnError, a click usage error), 1 for a failure while running (graphnn.errors.RunFailure:
training stopped being finite, a file could not be written; an OSError or MemoryError that escaped),
128 + N when stopped by signal N (130 for Ctrl-C, 143 for SIGTERM, at any moment: also while Python is still
importing). No traceback reaches the user.
"""

import _signal  # the C module, loaded with the interpreter: the start-up handler goes in before any import
import os
import sys

SIGNAL_NAMES = {_signal.SIGINT: "SIGINT", _signal.SIGTERM: "SIGTERM"}


def _interrupted_while_starting(signum, frame):
    """Ctrl-C or SIGTERM before the command runs (imports take tens of milliseconds): nothing to clean up yet."""
    os.write(2, f"error: interrupted ({SIGNAL_NAMES[signum]}) while starting\n".encode())
    os._exit(128 + signum)


def _started_as_the_command():
    """Whether this process is the ``graphnn`` command (console script or ``python -m graphnn``), not a
    program that imports graphnn.cli (a test, an embedding application keeps its own Ctrl-C)."""
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return program in ("graphnn", "graphnn.exe") or sys.argv[0].endswith(os.path.join("graphnn", "__main__.py"))


if _started_as_the_command() and _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    _signal.signal(_signal.SIGINT, _interrupted_while_starting)
if _started_as_the_command() and _signal.getsignal(_signal.SIGTERM) == _signal.SIG_DFL:
    _signal.signal(_signal.SIGTERM, _interrupted_while_starting)


class Terminated(KeyboardInterrupt):
    """SIGTERM while a command runs outside a training run's own handler (graphnn/train/signals.py): handled
    as Ctrl-C is (one line, 143), from where it came."""

    signum = _signal.SIGTERM


def _terminated(signum, frame):
    raise Terminated


import copy
import importlib
import math
import signal

import click

# name -> (module, one-line help). The help is repeated here so that listing commands imports nothing.
COMMANDS = {
    "check": ("graphnn.cli.check", "Validate a model file and print its nodes, shapes, parameters and FLOPs."),
    "data": ("graphnn.cli.data", "Find or download a named dataset (mnist, fashion-mnist) and verify it."),
    "test": ("graphnn.cli.test", "Evaluate a saved network (.gnn, run folder) on its test set or --data."),
    "lr-plot": ("graphnn.cli.lr_plot", "Draw the learning rate over the whole run from the train section, as SVG."),
    "predict": ("graphnn.cli.predict", "Print predicted classes and probabilities (arrays or images)."),
    "diff": ("graphnn.cli.diff", "Compare two model files, bundles or run folders: nodes, settings and weights."),
    "export": ("graphnn.cli.export", "Export a trained network (.gnn) or a model file to ONNX."),
    "gradcheck": ("graphnn.cli.gradcheck", "Check every gradient against central differences, in float64."),
    "import": ("graphnn.cli.import_cmd", "Import an ONNX model as a graphnn model file and bundle."),
    "run": ("graphnn.cli.run", "Train a model file and test it; write the trained bundle and metrics."),
    "time": ("graphnn.cli.time", "Time each node's forward and backward pass and count its memory, on one batch."),
    "viz": ("graphnn.cli.viz", "Draw a model, bundle or run directory as an HTML page, SVG or DOT."),
    "zoo": ("graphnn.cli.zoo", "List the model files that ship with graphnn (resnet18, resnet50, ...) with their parameter counts."),
}


ALIASES = {"train": "run", "fit": "run", "evaluate": "test", "eval": "test", "validate": "check", "show": "viz",
           "draw": "viz", "convert": "export", "infer": "predict"}  # what other tools call a command


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        command = importlib.import_module(COMMANDS[name][0]).command
        for param in command.params:  # the rules every path and number a command takes keeps
            if isinstance(param.type, (click.Path, click.types.FloatParamType)) and not getattr(param.type, "checked", False):
                param.type = copy.copy(param.type)  # its own: click.FLOAT (type=float) is one object for all of click
                param.type.convert, param.type.checked = _checked(param.type.convert), True
        return command

    def resolve_command(self, ctx, args):
        """An unknown command names the closest one (``graphnn chek`` -> check, ``graphnn train`` -> run)."""
        name = args[0] if args else None
        if name is not None and name not in COMMANDS and not name.startswith("-"):
            import difflib

            guess = ALIASES.get(name) or next(iter(difflib.get_close_matches(name, sorted(COMMANDS), n=1)), None)
            if guess:
                ctx.fail(f"no command {name!r}; did you mean '{guess}'?")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx, formatter):
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in sorted(COMMANDS)])

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run the command; every error and Ctrl-C becomes one line on stderr and ``exit_code``'s code."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        main_thread = threading_is_main()
        previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)} \
            if main_thread else {}
        if main_thread:  # from here on Ctrl-C is a KeyboardInterrupt, caught below (the run has its own handler)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            if previous[signal.SIGTERM] is signal.SIG_DFL or getattr(previous[signal.SIGTERM], "__name__", "") == \
                    "_interrupted_while_starting":  # SIGTERM as well (graphnn/__main__.py's start-up handler too)
                signal.signal(signal.SIGTERM, _terminated)
        try:
            try:
                code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            except BaseException as error:  # noqa: BLE001 (mapped to an exit code; SystemExit passes)
                code = report(error)
        finally:
            for number, handler in previous.items():
                if handler is not None:
                    signal.signal(number, handler)
        sys.exit(code if isinstance(code, int) else 0)


def _checked(convert):
    """``convert`` of a click.Path or float type, refusing an empty path and a float that is not finite: one
    usage line, exit 2. An empty path stood for the current folder, for the option's default or reached
    pathlib as a ValueError; click's float ranges let NaN through (comparisons with NaN are false), and
    ``--lr nan`` failed later as a training error at /train/lr."""
    def checked(value, param, ctx):
        if isinstance(value, (str, bytes)) and not value:
            raise click.BadParameter("an empty path names no file or folder", ctx=ctx, param=param)
        converted = convert(value, param, ctx)
        if isinstance(converted, float) and not math.isfinite(converted):
            raise click.BadParameter(f"must be a finite number; got {value}", ctx=ctx, param=param)
        return converted

    return checked


def threading_is_main():
    import threading

    return threading.current_thread() is threading.main_thread()


def exit_code(error):
    """The exit code for ``error``, in one place: a signal's 128 + N, 1 for a failure while running, 2 for
    bad input or usage."""
    from graphnn.errors import GraphnnError, RunFailure

    if isinstance(error, (KeyboardInterrupt, click.Abort)):
        return 128 + _signal_of(error)
    own = getattr(error, "exit_code", None)
    if isinstance(error, (GraphnnError, click.ClickException)) and isinstance(own, int):
        return own  # Interrupted: 128 + its signal; click's usage errors: 2
    if isinstance(error, GraphnnError):
        return 1 if isinstance(error, RunFailure) else 2
    return 1  # OSError, MemoryError: a failure while running


def _signal_of(interrupt):
    """The signal behind a KeyboardInterrupt, or behind the click.Abort click made of one: SIGINT or SIGTERM."""
    return getattr(interrupt, "signum", None) or getattr(interrupt.__cause__, "signum", signal.SIGINT)


def message(error):
    """One line saying what went wrong (no traceback)."""
    from graphnn.errors import GraphnnError, one_line

    if isinstance(error, (KeyboardInterrupt, click.Abort)):
        return f"interrupted ({signal.Signals(_signal_of(error)).name})"
    if isinstance(error, GraphnnError):
        return str(error)
    if isinstance(error, click.UsageError):
        command = error.ctx.command_path if error.ctx is not None else "graphnn"
        return one_line(f"{error.format_message()} (see '{command} --help')")
    if isinstance(error, click.ClickException):
        return one_line(error.format_message())
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename is not None else ""
        return one_line(f"{where}{error.strerror or error}")
    if isinstance(error, MemoryError):
        return "out of memory"
    return one_line(f"{type(error).__name__}: {error}")


def report(error):
    """Print ``error`` as one line and return its exit code; SystemExit and unexpected errors pass through."""
    from graphnn.errors import GraphnnError

    if isinstance(error, SystemExit):
        raise error
    if not isinstance(error, (GraphnnError, click.ClickException, click.Abort, KeyboardInterrupt, OSError,
                              MemoryError)):
        raise error  # a bug: its traceback is what a bug report needs
    try:
        if isinstance(error, getattr(click.exceptions, "NoArgsIsHelpError", ())):
            error.show()  # `graphnn` alone: the help
        else:
            click.echo(f"error: {message(error)}", err=True)
    except OSError:
        pass  # stderr itself is gone
    return exit_code(error)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True,
             no_args_is_help=False)
@click.version_option(package_name="graphnn")
@click.pass_context
def main(ctx):
    """graphnn: neural networks as data.

    A network is a JSON model file: a DAG of named nodes that graphnn validates, trains and tests.
    """
    if ctx.invoked_subcommand is None:  # bare `graphnn`: the help, exit 0
        click.echo(ctx.get_help())
