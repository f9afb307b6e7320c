"""A small, dependency-free step reporter and progress bar for long jobs.

``Progress`` announces the steps of a job on a text stream (standard error by
default). What it shows depends on ``mode`` and on whether the stream is a
terminal:

=========  ==============================  ==================================
mode       stream is a terminal            stream is not a terminal
=========  ==============================  ==================================
"auto"     live line, redrawn in place     nothing
"always"   live line, redrawn in place     one plain line per step start/end
"never"    nothing                         nothing
=========  ==============================  ==================================

The live line shows the step number and name, the elapsed time and, when the
step's total is known, a bar and ``done/total``. A finished step leaves one
line: ``[2/4] training the teacher ... done (3.2 s)``. Output written to the
stream by the job between two redraws is not corrupted, only overdrawn by
the next redraw; steps are meant to be short sequences of compiled work.

The count of a step is advanced by ``update`` or, for work that runs
elsewhere (inside one estimator call), read by a ``poll`` callable every
``interval`` seconds from a background thread (live mode only): e.g.
``poll=lambda: len(getattr(model, "loss_curve_", None) or ())`` follows the
epochs of an MLP being trained.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress", "Step"]


def _format_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover


def _format_seconds(s: float) -> str:
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(s), 60)
    if m < 60:
        return f"{m}:{s:02d} min"
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d} h"


class Step:
    """One step of a :class:`Progress`; a context manager (see ``Progress.step``).

    Parameters
    ----------
    progress : Progress
        The owner.
    name : str
        What the step does ("training the teacher").
    total : int or None
        Units of work, when known (a bar is drawn then).
    poll : callable or None
        Returns the units done so far; read periodically in live mode.
    unit : str
        Name of the units ("epochs"); "bytes" shows sizes (``1.2 MB``).

    Attributes
    ----------
    done : int
        Units done so far.
    elapsed : float
        Seconds since the step started (frozen when it ends).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with Progress(out, mode="always").step("counting", total=3) as step:
    ...     for _ in range(3):
    ...         step.update()
    >>> step.done
    3
    """

    def __init__(self, progress: Progress, name: str, total: int | None,
                 poll: Callable[[], int] | None, unit: str = ""):
        self._progress = progress
        self.unit = unit
        self.name = name
        self.total = total
        self.poll = poll
        self.done = 0
        self.index = 0
        self._t0 = 0.0
        self._t1: float | None = None
        self._last_draw = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def elapsed(self) -> float:
        """Seconds since the step started."""
        end = self._t1 if self._t1 is not None else time.perf_counter()
        return end - self._t0

    def update(self, n: int = 1) -> None:
        """Advance the count by ``n`` units (redrawn at most every ``interval``).

        Parameters
        ----------
        n : int, default=1
            Units just done.
        """
        self.set(self.done + n)

    def set(self, done: int, total: int | None = None) -> None:
        """Set the count of units done (and, optionally, the total).

        Parameters
        ----------
        done : int
            Units done so far.
        total : int, optional
            New total.
        """
        self.done = int(done)
        if total is not None:
            self.total = int(total)
        now = time.perf_counter()
        if now - self._last_draw >= self._progress.interval:
            self._last_draw = now
            self._progress._draw(self)

    def __enter__(self) -> Step:
        self._progress._start(self)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._progress._end(self, failed=exc_type is not None)

    def _ticker(self) -> None:
        while not self._stop.wait(self._progress.interval):
            if self.poll is not None:
                try:
                    self.done = int(self.poll())
                except Exception:  # noqa: BLE001 - a polled count is only informative
                    pass
            self._progress._draw(self)


class Progress:
    r"""Announce the steps of a long job, with a live bar on terminals.

    Parameters
    ----------
    stream : text file, optional
        Where to write (default: ``sys.stderr`` at the time of each write).
    mode : {"auto", "always", "never"}, default="auto"
        "auto": a live line on a terminal, nothing otherwise. "always": a live
        line on a terminal, plain lines otherwise (logs). "never": silent.
    n_steps : int, optional
        Number of steps of the job (shown as ``[i/n]``).
    width : int, default=24
        Characters of the bar.
    interval : float, default=0.2
        Seconds between redraws.

    Attributes
    ----------
    live : bool
        Whether the line is redrawn in place.
    enabled : bool
        Whether anything is written.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> progress = Progress(out, mode="always", n_steps=2)
    >>> with progress.step("reading"):
    ...     pass
    >>> with progress.step("fitting", total=10) as step:
    ...     step.update(10)
    >>> print(out.getvalue().replace("\r", ""), end="")  # doctest: +ELLIPSIS
    [1/2] reading ...
    [1/2] reading ... done (...)
    [2/2] fitting ...
    [2/2] fitting ... done (...)
    """

    def __init__(self, stream: TextIO | None = None, *, mode: str = "auto",
                 n_steps: int | None = None, width: int = 24, interval: float = 0.2):
        if mode not in ("auto", "always", "never"):
            raise ValueError(f"mode must be 'auto', 'always' or 'never', got {mode!r}.")
        self._stream = stream
        self.mode = mode
        self.n_steps = n_steps
        self.width = width
        self.interval = interval
        self._count = 0
        self._lock = threading.Lock()
        self._line_len = 0
        isatty = getattr(self.stream, "isatty", None)
        try:
            tty = bool(isatty()) if isatty is not None else False
        except ValueError:  # closed stream
            tty = False
        self.live = tty and mode != "never"
        self.enabled = mode == "always" or self.live

    @property
    def stream(self) -> TextIO:
        """The output stream."""
        return self._stream if self._stream is not None else sys.stderr

    def step(self, name: str, *, total: int | None = None,
             poll: Callable[[], int] | None = None, unit: str = "") -> Step:
        """Create a step, to be used as a context manager.

        Parameters
        ----------
        name : str
            What the step does.
        total : int, optional
            Units of work, when known.
        poll : callable, optional
            Returns the units done so far (read periodically in live mode).
        unit : str, default=""
            Name of the units shown after the count ("epochs"); "bytes"
            shows sizes.

        Returns
        -------
        step : Step
            Enter it to start the step; leaving it ends the step.
        """
        return Step(self, name, total, poll, unit)

    # ---------------------------------------------------------------- output
    def _label(self, step: Step) -> str:
        if self.n_steps:
            return f"[{step.index}/{self.n_steps}] {step.name}"
        return step.name

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # closed or broken stream: progress is optional
            self.enabled = False

    def _start(self, step: Step) -> None:
        self._count += 1
        step.index = self._count
        step._t0 = time.perf_counter()
        if not self.enabled:
            return
        if not self.live:
            self._write(f"{self._label(step)} ...\n")
            return
        self._draw(step)
        step._thread = threading.Thread(target=step._ticker, daemon=True,
                                        name="fastdistill-progress")
        step._thread.start()

    def _end(self, step: Step, *, failed: bool) -> None:
        step._t1 = time.perf_counter()
        if step._thread is not None:
            step._stop.set()
            step._thread.join()
            step._thread = None
        if not self.enabled:
            return
        outcome = "failed" if failed else "done"
        line = f"{self._label(step)} ... {outcome} ({_format_seconds(step.elapsed)})"
        with self._lock:
            if self.live:
                self._write("\r" + line.ljust(self._line_len) + "\n")
                self._line_len = 0
            else:
                self._write(line + "\n")

    def _draw(self, step: Step) -> None:
        if not (self.enabled and self.live):
            return
        parts = [self._label(step)]
        if step.total:
            frac = min(max(step.done / step.total, 0.0), 1.0)
            filled = int(round(frac * self.width))
            parts.append("[" + "#" * filled + "." * (self.width - filled) + "]")
            done = min(step.done, step.total)
            if step.unit == "bytes":
                parts.append(f"{_format_bytes(done)}/{_format_bytes(step.total)}")
            else:
                parts.append(f"{done}/{step.total}" + (f" {step.unit}" if step.unit else ""))
        parts.append(_format_seconds(step.elapsed))
        line = "  ".join(parts)
        with self._lock:
            self._write("\r" + line.ljust(self._line_len))
            self._line_len = len(line)
