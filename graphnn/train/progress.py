"""The training display of ``graphnn run`` and ``Model.fit(verbose=1)``.

On a terminal, one progress line redrawn after the first iteration and then about every ``redraw``
seconds (0.5: at least once a second, whatever the run's ``display_interval``)::

    [##########....................] iteration 340/1000  epoch 0.36  loss 0.3121  accuracy 0.912
      1,950 samples/s (recent)  ETA 0:21

The loss and accuracy are the averages since the last redraw; samples/s is the rate since the last redraw
("recent"), or from the start ("average") on the first one; the ETA is the rest at the average rate.
Test lines are printed below the bar, which stays: the last training line and every test line remain on
the screen. In a Jupyter notebook (``Model.fit`` there) the same bar is one output updated in place at the
same pace (an IPython display handle), and each test line is printed below it, the bar going on in a new
output after it. Piped to a file or another program, the output is plain lines: one per display interval
(one per metrics record), and each test line.

``Progress`` is both a run's ``log`` (it hears the metrics records) and a callback (graphnn/train/callbacks.py:
it hears every iteration).
"""

import sys
import time

from graphnn.train.callbacks import Callback


def _in_notebook():
    """Whether this process is a Jupyter kernel (IPython's shell with a kernel), where the display is
    updated in place rather than redrawn with carriage returns."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return getattr(shell, "kernel", None) is not None


def _duration(seconds):
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def test_metrics(record):
    """"accuracy A, loss L" of a test record (no accuracy for a network that reports none), then its other
    metrics (accuracy_top5) and, with several losses, each loss's own value: "accuracy_top5 0.9990,
    losses: loss 0.0312, l2_error 1.2500"."""
    named = "" if record["accuracy"] is None else f"accuracy {record['accuracy']:.4f}, "
    extra = "".join(f", {key} {value:.4f}" for key, value in record.items() if key.startswith("accuracy_"))
    losses = record.get("losses") or {}
    each = ", losses: " + ", ".join(f"{name} {value:.4f}" for name, value in losses.items()) if len(losses) > 1 else ""
    return f"{named}loss {record['loss']:.4f}{extra}{each}"


class Progress(Callback):
    """The display for a run of ``total`` iterations of ``batch_size`` samples, written to ``stream``
    (stderr by default)."""

    redraw = 0.5  # seconds between redraws on a terminal

    def __init__(self, total, batch_size, stream=None, samples_per_epoch=None, tty=None, notebook=None):
        self.total, self.batch_size = total, batch_size
        self.stream = stream if stream is not None else sys.stderr
        self.notebook = _in_notebook() if notebook is None and tty is None else bool(notebook)
        self.tty = self.notebook or (self.stream.isatty() if tty is None else tty)  # a bar, redrawn
        self.handle = None  # the notebook output the bar is drawn in
        self.samples_per_epoch = samples_per_epoch
        self.drawn = None  # (time, iteration) of the last redraw
        self.open = False  # a bar is on the current line, without its newline
        self.sums = [0.0, 0.0, 0]  # loss, accuracy, iterations since the last redraw

    def _write(self, text):
        self.stream.write(text)
        self.stream.flush()

    # the callback: every iteration
    def on_iteration_end(self, trainer):
        if not self.tty:
            return
        loss, accuracy = trainer.step_metrics
        self.sums[0] += loss
        self.sums[1] += accuracy
        self.sums[2] += 1
        now = time.monotonic()
        last = trainer.iteration >= self.total or trainer.stopping
        if self.drawn is not None and now - self.drawn[0] < self.redraw and not last:
            return
        if self.samples_per_epoch is None:
            self.samples_per_epoch = len(trainer.train_split.y)
        loss_sum, accuracy_sum, count = self.sums
        self.sums = [0.0, 0.0, 0]
        if self.drawn is None or now <= self.drawn[0]:
            rate = trainer.iteration * self.batch_size / trainer.elapsed if trainer.elapsed else 0.0
            kind = "average"
        else:
            rate = (trainer.iteration - self.drawn[1]) * self.batch_size / (now - self.drawn[0])
            kind = "recent"
        self.drawn = (now, trainer.iteration)
        average = trainer.iteration * self.batch_size / trainer.elapsed if trainer.elapsed else 0.0
        left = (self.total - trainer.iteration) * self.batch_size / average if average else 0.0
        filled = min(30, int(30 * trainer.iteration / self.total))
        epoch = trainer.iteration * self.batch_size / self.samples_per_epoch
        accuracy = f"accuracy {accuracy_sum / count:.3f}  " if "accuracy" in trainer.reported else ""
        text = (f"[{'#' * filled}{'.' * (30 - filled)}] iteration {trainer.iteration}/{self.total}  "
                f"epoch {epoch:.2f}  loss {loss_sum / count:.4f}  {accuracy}"
                f"{rate:,.0f} samples/s ({kind})  ETA {_duration(left)}")
        if self.notebook:
            self._draw_in_notebook(text)
            return
        self._write("\r\033[K" + text)
        self.open = True
        if last:
            self.end_line()

    def _draw_in_notebook(self, text):
        from IPython.display import display

        if self.handle is None:
            self.handle = display({"text/plain": text}, raw=True, display_id=True)
        else:
            self.handle.update({"text/plain": text}, raw=True)

    # the log: every metrics record
    def __call__(self, record):
        if record["phase"] != "train":  # a test: "test", or "test/NAME" for a further test set
            self.end_line()
            self._write(f"iteration {record['iteration']}: {record['phase']} {test_metrics(record)}\n")
            return
        if self.tty:
            return  # the bar shows it
        rate = record["iteration"] * self.batch_size / record["elapsed"] if record["elapsed"] else 0.0
        left = (self.total - record["iteration"]) * self.batch_size / rate if rate else 0.0
        accuracy = "" if record["accuracy"] is None else f"accuracy {record['accuracy']:.3f}  "
        losses = "".join(f"{name} {value:.4f}  " for name, value in (record.get("losses") or {}).items())
        self._write(f"iteration {record['iteration']}/{self.total}  loss {record['loss']:.4f}  "
                    f"{accuracy}{'losses: ' * bool(losses)}{losses}lr {record['lr']:.4g}  {rate:,.0f} samples/s "
                    f"(average)  ETA {_duration(left)}\n")

    def end_line(self):
        """Keep the bar: end its line (in a notebook, a later bar is a new output)."""
        self.handle = None
        if self.open:
            self._write("\n")
            self.open = False

    def clear(self):
        """Erase the bar (before a message that replaces it)."""
        if self.open:
            self._write("\r\033[K")
            self.open = False
