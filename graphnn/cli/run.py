"""``graphnn run MODEL.json``: train with the model's train section, test with its test section."""

import sys
import time

import click

from graphnn.cli.options import model_argument


class Progress:
    """A one-line progress bar on a terminal; plain periodic lines otherwise."""

    def __init__(self, total, stream=sys.stderr):
        self.total = total
        self.stream = stream
        self.tty = stream.isatty()
        self.last_line = 0.0

    def __call__(self, record):
        if record["phase"] == "test":
            self._clear()
            click.echo(f"iteration {record['iteration']}: test accuracy {record['accuracy']:.4f}, "
                       f"loss {record['loss']:.4f}", err=True)
            return
        rate = record["iteration"] / record["elapsed"] if record["elapsed"] else 0.0
        text = (f"iteration {record['iteration']}/{self.total}  loss {record['loss']:.4f}  "
                f"accuracy {record['accuracy']:.3f}  lr {record['lr']:.4g}  {rate:.0f} it/s")
        if self.tty:
            filled = int(30 * record["iteration"] / self.total)
            self.stream.write("\r[" + "#" * filled + "." * (30 - filled) + "] " + text)
            self.stream.flush()
        elif time.monotonic() - self.last_line >= 2.0 or record["iteration"] == self.total:
            self.last_line = time.monotonic()
            click.echo(text, err=True)

    def _clear(self):
        if self.tty:
            self.stream.write("\r\033[K")


@click.command("run")
@model_argument
@click.option("--iterations", type=click.IntRange(min=1), help="Train this many iterations (overrides the file).")
@click.option("--epochs", type=click.FloatRange(min=0, min_open=True), help="Train this many passes over the data.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Training batch size.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="Base learning rate.")
@click.option("--seed", type=click.IntRange(min=0), help="Seed for initialisation, shuffling and dropout.")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), help="Floating-point type.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder holding the dataset files.")
@click.option("--out", type=click.Path(file_okay=False), help="Output folder (default runs/<model name>/).")
@click.option("--test-interval", type=click.IntRange(min=1), help="Test every this many iterations.")
def command(model_path, out, **overrides):
    """Train MODEL (a .json model file) and test it; write the trained bundle, metrics and summary.

    Exit 0 on success, 2 for an invalid model or usage, 1 for a failure during the run.
    """
    from graphnn.model import load_model
    from graphnn.runner import prepare_run

    model = load_model(model_path)
    trainer = prepare_run(model, overrides)
    folder = out or f"runs/{model.name}"
    from graphnn.rundir import RunDirectory

    directory = RunDirectory(folder)
    progress = Progress(trainer.settings.iterations)

    def log(record):
        directory.log(record)
        progress(record)

    test_metrics = trainer.run(log)
    summary = directory.finish(trainer, test_metrics)
    train = summary["train"]
    line = f"trained {model.name}: {train['iterations']} iterations in {train['seconds']:.1f} s " \
           f"({train['samples_per_s']:,.0f} samples/s)"
    if summary["test"]:
        test = summary["test"]
        line += f"; test accuracy {test['accuracy']:.4f}, loss {test['loss']:.4f} on {test['samples']} samples"
    click.echo(line)
    click.echo(f"wrote {folder}/model.gnn, metrics.jsonl, summary.json, loss.svg")
