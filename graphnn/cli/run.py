"""``graphnn run MODEL.json``: train with the model's train section, test with its test section. The
run itself is graphnn/train/run.py's Run; this module turns options into one and prints what it does.

Snapshots (graphnn/train/snapshots.py) go to RUN_DIR/snapshot.gnn every ``--snapshot-interval`` iterations, after
the last one, and on Ctrl-C or SIGTERM, which stop the run at the end of the current iteration; it then
exits 130 (SIGINT) or 143 (SIGTERM) with one line saying where the snapshot is. ``--resume RUN_DIR``
continues from that snapshot, bit for bit as if never stopped; it refuses another model or settings.

``mpiexec -n K graphnn run MODEL --distributed`` trains data-parallel on K ranks (graphnn/train/distributed.py,
docs/distributed.md); rank 0 writes the run folder and prints, and an error on any rank ends the job.
"""

import math
from pathlib import Path

import click

from graphnn.cli.options import model_argument


@click.command("run")
@model_argument
@click.option("--iterations", type=click.IntRange(min=1), help="Train this many iterations (overrides the file).")
@click.option("--epochs", type=click.FloatRange(min=0, min_open=True), help="Train this many passes over the data.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Training batch size.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="Base learning rate.")
@click.option("--seed", type=click.IntRange(min=0), help="Seed for initialisation, shuffling and dropout.")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), help="Floating-point type.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder holding the dataset files.")
@click.option("-o", "--out", type=click.Path(file_okay=False), help="Output folder (default runs/<model name>/).")
@click.option("--test-interval", type=click.IntRange(min=1), help="Test every this many iterations.")
@click.option("--snapshot-interval", type=click.IntRange(min=1),
              help="Write a snapshot every this many iterations (one is also written at the end and on Ctrl-C).")
@click.option("--resume", type=click.Path(file_okay=False), metavar="RUN_DIR",
              help="Continue the run in RUN_DIR from its snapshot (same model file and settings).")
@click.option("--force", "--overwrite", "overwrite", is_flag=True,
              help="Start a new run in a folder that holds another run's results or snapshot, replacing them.")
@click.option("--weights", type=click.Path(exists=True), metavar="BUNDLE|RUN_DIR",
              help="Fine-tune: start from this bundle's weights, matched by node name (others initialised).")
@click.option("--ignore-mismatch", is_flag=True, help="With --weights: initialise a node whose shapes differ.")
@click.option("--distributed", is_flag=True,
              help="Train data-parallel over MPI: start with mpiexec -n K (implied when an MPI launcher starts "
                   "K > 1 ranks). The batch size is the global batch. See docs/distributed.md.")
@click.pass_context
def command(ctx, model_path, out, resume, distributed, weights, ignore_mismatch, **overrides):
    """Train MODEL (a .json model file) and test it; write the trained bundle, metrics and summary.

    Exit 0 on success, 2 for an invalid model or usage, 1 for a failure during the run, 130 or 143 when
    stopped by SIGINT (Ctrl-C) or SIGTERM after writing a snapshot (also during the final test: --resume
    then tests and writes the folder).

    A new run refuses a folder holding another run's results or snapshot (exit 2): --resume it, choose
    another --out, or pass --force (--overwrite). A folder that another run is training into now is
    refused (exit 2), even with --force or --resume. When the folder cannot be written (disk full,
    read-only), the run stops with exit 1 and one line saying where the trained state was kept and how to
    resume from it.
    """
    from graphnn.train.mpilaunch import launched_size, share_cores

    if resume and out and Path(out).resolve() != Path(resume).resolve():
        raise click.UsageError("--resume continues in its own folder; leave out --out or name the same folder")
    if overrides.get("iterations") and overrides.get("epochs"):
        raise click.UsageError("give --iterations or --epochs, not both")
    if resume and weights:
        raise click.UsageError("--resume goes on from the snapshot's weights; --weights starts a new run")
    start = (weights, ignore_mismatch)
    overwrite = overrides.pop("overwrite")
    if resume and overwrite:
        raise click.UsageError("--resume continues the run in its folder; --force starts a new one")
    ranks = launched_size()
    if not distributed and ranks == 1:
        return train(ctx, model_path, out, resume, None, overrides, start, overwrite)
    share_cores()  # before NumPy loads: the ranks on this machine share its cores
    from graphnn.train.distributed import connect

    world = connect(ranks)
    with world.guard(passthrough=click.exceptions.Exit):  # a rank's error ends every rank, naming it
        train(ctx, model_path, out, resume, world, overrides, start, overwrite)
        world.barrier()  # the job ends once rank 0 has written the run folder


def train(ctx, model_path, out, resume, world, overrides, start=(None, False), overwrite=False):
    """The run (graphnn/train/run.py), on one process (``world`` None) or on this rank of a distributed.World;
    ``start``: (--weights, --ignore-mismatch)."""
    from graphnn.errors import WriteError
    from graphnn.model import load_model
    from graphnn.model.summary import count, seconds
    from graphnn.train.progress import Progress, test_metrics
    from graphnn.train.run import Run
    from graphnn.train.signals import Interrupted

    model = load_model(model_path)
    folder = resume or out or f"runs/{model.name}"

    def report(line):  # dataset downloads, the ranks
        click.echo(line, err=True)

    if resume:
        run = Run.resume(folder, model, overrides, world=world, report=report)
    else:
        run = Run(model, overrides, folder, world=world, report=report)
        run.overwrite = overwrite
    if start[0]:  # fine-tuning (graphnn/train/finetune.py)
        from graphnn.io.sources import load_source

        match = run.start_from(load_source(start[0]).require_bundle("--weights"), start[1], source=start[0])
        for line in match.lines() if run.leader else ():
            click.echo(line, err=True)
    progress = Progress(run.settings.iterations, run.settings.samples_per_iteration)  # graphnn/train/progress.py
    try:
        summary = run.train(log=progress, callbacks=[progress])
    except WriteError as error:  # says what was kept; name the command that goes on from there
        progress.clear()
        if error.kept is not None:
            error.message += f"; resume with: graphnn run {model_path} --resume {error.kept}"
        raise
    except Interrupted as stopped:
        if world is not None and stopped.iteration is None:  # a second signal, mid-step: the ranks cannot agree
            raise
        if run.leader:
            progress.clear()
            again = f"graphnn run {model_path}" if world is None else \
                f"mpiexec -n {world.size} graphnn run {model_path} --distributed"
            hint = f"; resume with: {again} --resume {folder}" if stopped.snapshot is not None else ""
            click.echo(str(stopped) + hint, err=True)
        ctx.exit(stopped.exit_code)
    if not run.leader:
        return
    train = summary["train"]
    line = f"trained {model.name}: {count(train['iterations'])} iterations in {seconds(train['seconds'])} " \
           f"({train['samples_per_s']:,.0f} samples/s)"
    if summary["test"]:
        test = summary["test"]
        line += f"; test {test_metrics(test)} on {count(test['samples'])} samples"
    click.echo(line)
    click.echo(f"wrote {folder}/model.gnn, metrics.jsonl, summary.json, loss.svg")
    if summary["test"] and not all(math.isfinite(summary["test"][key]) for key in ("loss", "accuracy")
                                   if summary["test"][key] is not None):
        click.echo("note: the test metrics are not all finite; summary.json and metrics.jsonl hold them as null "
                   "with a 'non_finite' note (the trained model is saved)", err=True)
    if world is not None:
        click.echo(run.trainer.strategy.report(), err=True)
