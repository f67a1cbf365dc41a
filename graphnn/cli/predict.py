"""``graphnn predict BUNDLE INPUT...``: classes and probabilities for the samples in INPUT."""

import click


@click.command("predict")
@click.argument("bundle_path", metavar="BUNDLE|RUN_DIR", type=click.Path())
@click.argument("input_paths", metavar="INPUT...", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--top", type=click.IntRange(min=1), default=1, show_default=True, help="Classes shown per sample.")
@click.option("--limit", type=click.IntRange(min=1), help="Predict only the first LIMIT samples.")
@click.option("--output", metavar="NODE", help="Read predictions from this node (default: what the primary loss "
              "reads, or the one output of a network without a loss).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per sample (class, top classes and "
              "probabilities).")
def command(bundle_path, input_paths, top, limit, output, as_json):
    """Print the predicted class and its probability for each sample in INPUT.

    INPUT is one array file, samples in rows: .npy, .npz (array x) or IDX (raw or .gz); one sample on its
    own (a 28x28 image) is a batch of one. uint8 values are pixels, scaled by 1/255 as in training; floats
    go in as they are, and for a network trained on mnist or fashion-mnist (images scaled to [0, 1]) floats
    outside [0, 1] are refused with the reason.

    Or INPUT is one or more image files (PNG, JPEG, or any format Pillow reads; needs the extra
    graphnn[images]), each one sample: read as 8-bit grey for a one-channel input (RGB for three; alpha
    dropped), resized (bilinear, no cropping; a note says so) to the input's height and width, scaled by 1/255.
    MNIST digits are white on black. Empty, NaN, complex or text arrays and unreadable images exit 2.
    """
    import json

    from graphnn.errors import DataError
    from graphnn.io.sources import load_source
    from graphnn.predict import check_range, is_image_file, predict, read_images, read_samples, sample_input

    bundle = load_source(bundle_path).require_bundle("predict")
    images = [is_image_file(path) for path in input_paths]
    if all(images):
        source = sample_input(bundle.model.plan, output)
        samples, notes = read_images(input_paths, source.out_shape, source.name)
        for note in notes:
            click.echo(note, err=True)
    elif len(input_paths) > 1:
        raise DataError("not an image file: give one array file (.npy, .npz, IDX), or image files only",
                        file=next(path for path, image in zip(input_paths, images) if not image))
    else:
        samples = check_range(bundle.model, read_samples(input_paths[0]), file=input_paths[0])
    if limit:
        samples = samples[:limit]
    _, probabilities = predict(bundle.network(), samples, output=output)
    names = input_paths if all(images) else None
    for index, row in enumerate(probabilities):
        best = row.argsort()[::-1][:top]
        if as_json:
            click.echo(json.dumps({"sample": index, **({"file": names[index]} if names else {}), "class": int(best[0]),
                                   "top": [{"class": int(c), "probability": float(row[c])} for c in best]}))
            continue
        click.echo(f"{names[index] if names else index}: " + ", ".join(f"{c} ({row[c]:.4f})" for c in best))
