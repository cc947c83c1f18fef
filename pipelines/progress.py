"""Progress a user can read while the pipeline works: one status line naming the step under way,
with its running seconds, a bar, and an estimate of the time left.

The estimate comes from the last run of the same job: each job (``vitrine run``, ``pipeline
run``, ``train forecast``…) records how long each of its steps took, and the next run reads what
is left of that list from the step under way. A home's first run reads a reference run's times
(``reference_steps/``, measured on 2 cores, shipped for ``vitrine run --scale small``, what ``make
run`` does) and says so; a job without either is still named and clocked step by step.

Steps open inside one another (the pipeline run's clock is open while the forecaster names its
backtest folds): an inner clock becomes steps of the outer one, so there is one status line and
one record per job.

Into a log (no terminal), each step is a line, and a step that goes on prints a line every
``HEARTBEAT`` seconds, so a log never looks like a hang either.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

REFERENCE = Path(__file__).with_name("reference_steps")  # a job's step times on 2 reference cores: a first run's estimate
HEARTBEAT = 4.0  # seconds without a line, into a log, before the step under way is named again
BAR_WIDTH = 12


def step_key(text: str) -> str:
    """A step's text without its paths and counts, so "fold 2/3" of this run finds "fold 2/3" of
    the last one even where sizes or the home changed ("sampling 10,020 of 30,000 series")."""
    return re.sub(r"\d[\d,.]*", "#", re.sub(r"\S*/\S*", "…", text))


def seconds_left(history: list[tuple[str, float]], done: list[str], current: str, in_step: float) -> float | None:
    """Seconds left by a past run's ``history`` (step text, seconds): what the current step took
    then beyond ``in_step``, plus every step after it. Steps are matched in order by
    :func:`step_key`, from where the steps already ``done`` left off (a done step the past run did
    not have is passed over); None when it had no step like the current one."""
    position = 0
    for text in done:
        key = step_key(text)
        found = next((k for k in range(position, len(history)) if step_key(history[k][0]) == key), None)
        position = position if found is None else found + 1
    key = step_key(current)
    now = next((k for k in range(position, len(history)) if step_key(history[k][0]) == key), None)
    if now is None:
        return None
    return max(history[now][1] - in_step, 0.0) + sum(seconds for _, seconds in history[now + 1:])


def short_time(seconds: float) -> str:
    """42 s, 3 min 05 s."""
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


@dataclass
class Clock:
    """The job's steps as they go (see the module docstring)."""

    console: Console
    record: Path | None
    history: list[tuple[str, float]] = field(default_factory=list)
    steps: list[tuple[str, float]] = field(default_factory=list)  # (text, started), this run
    detail: Callable[[], str] | None = None  # more about the step under way (Spark's tasks done)
    last_line: float = field(default_factory=time.monotonic)
    by_reference: bool = False  # the estimate comes from the reference run, not from this home's last one

    def __post_init__(self) -> None:
        if self.record is None:
            return
        reference = REFERENCE / self.record.name
        source = self.record if self.record.exists() else reference
        self.by_reference = source == reference
        try:
            self.history = [(str(text), float(s)) for text, s in json.loads(source.read_text())["steps"]]
        except (OSError, ValueError, KeyError, TypeError):
            self.history = []  # no record, or an unreadable one, only costs the estimate

    def step(self, text: str) -> None:
        now = time.monotonic()
        self.steps.append((text, now))
        if not self.console.is_terminal:
            self.say(text)

    def say(self, text: str) -> None:
        """A line into the log: the step and where the job stands."""
        self.console.print(f"{text} ({self.where()})", soft_wrap=True, highlight=False)
        self.last_line = time.monotonic()

    def where(self) -> str:
        """"12 s in · 35% · about 2 min 10 s left" (no estimate without a past or reference run)."""
        now = time.monotonic()
        current, started = self.steps[-1]
        parts = [f"{short_time(now - self.steps[0][1])} in"] if len(self.steps) > 1 or not self.console.is_terminal else []
        left = seconds_left(self.history, [t for t, _ in self.steps[:-1]], current, now - started)
        if left is not None:
            elapsed = now - self.steps[0][1]
            done = elapsed / max(elapsed + left, 1e-9)
            parts.append(f"{'━' * round(done * BAR_WIDTH):─<{BAR_WIDTH}} {done:.0%}")
            parts.append(f"about {short_time(left)} left{' on 2 reference cores' if self.by_reference else ''}")
        return " · ".join(parts)

    def line(self) -> str:
        """The status line on a terminal."""
        text, started = self.steps[-1]
        extra = self.detail() if self.detail else ""
        return " · ".join(part for part in (f"{text} {short_time(time.monotonic() - started)}", extra, self.where()) if part)

    def save(self) -> None:
        """Record this run's step times for the next run's estimate (only a run that ended well)."""
        if self.record is None or not self.steps:
            return
        ends = [started for _, started in self.steps[1:]] + [time.monotonic()]
        steps = [[text, round(end - started, 2)] for (text, started), end in zip(self.steps, ends)]
        self.record.parent.mkdir(parents=True, exist_ok=True)
        partial = self.record.with_suffix(".partial")
        partial.write_text(json.dumps({"steps": steps}))
        partial.replace(self.record)


_open: list[Clock] = []  # the clock of the job under way, if any


@contextmanager
def clocked(console: Console, first: str, record: Path | None = None,
            detail: Callable[[], str] | None = None) -> Iterator[Callable[[str], None]]:
    """Run a job under a clock: yields the function that names the next step. ``record``: where
    this job's step times are kept for the next run's estimate. ``detail``: called every second
    for more about the step under way. Inside another job's clock, the steps are that job's."""
    if _open:
        outer = _open[-1]
        before = outer.detail
        outer.detail = detail or before
        outer.step(first)
        try:
            yield outer.step
        finally:
            outer.detail = before
        return
    clock = Clock(console, record, detail=detail)
    clock.step(first)
    stop = threading.Event()
    _open.append(clock)
    try:
        with console.status(clock.line()) as status:
            def tick() -> None:
                while not stop.wait(1.0):
                    if console.is_terminal:
                        status.update(clock.line())
                    elif time.monotonic() - clock.last_line >= HEARTBEAT:
                        clock.say(f"… {clock.steps[-1][0]}")

            threading.Thread(target=tick, daemon=True, name="progress-clock").start()
            yield clock.step
        clock.save()
    finally:
        stop.set()
        _open.remove(clock)
