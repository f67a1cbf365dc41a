"""``graphnn predict BUNDLE.gnn INPUT``: classes and probabilities for the samples in INPUT."""

import click


@click.command("predict")
@click.argument("bundle_path", metavar="BUNDLE|RUN_DIR", type=click.Path())
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option("--top", type=click.IntRange(min=1), default=1, show_default=True, help="Classes shown per sample.")
@click.option("--limit", type=click.IntRange(min=1), help="Predict only the first LIMIT samples.")
@click.option("--output", metavar="NODE", help="Read predictions from this node (default: what the primary loss "
              "reads, or the one output of a network without a loss).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per sample (class, top classes and "
              "probabilities).")
def command(bundle_path, input_path, top, limit, output, as_json):
    """Print the predicted class and its probability for each sample in INPUT.

    INPUT is a .npy file, a .npz archive (array x) or an IDX file (raw or .gz), samples in rows:
    uint8 images are scaled by 1/255 as in training.
    """
    import json

    from graphnn.io.sources import load_source
    from graphnn.predict import predict, read_samples

    network = load_source(bundle_path).require_bundle("predict").network()
    samples = read_samples(input_path)
    if limit:
        samples = samples[:limit]
    _, probabilities = predict(network, samples, output=output)
    for index, row in enumerate(probabilities):
        best = row.argsort()[::-1][:top]
        if as_json:
            click.echo(json.dumps({"sample": index, "class": int(best[0]),
                                   "top": [{"class": int(c), "probability": float(row[c])} for c in best]}))
            continue
        click.echo(f"{index}: " + ", ".join(f"{c} ({row[c]:.4f})" for c in best))
