"""Point-in-time history over dense series, in one Spark window pass.

The series arrive dense (one row per period from the series' first to its last; ClickHouse fills
the months gold leaves out with 0 units, see build.py), so "k periods back" is "k rows back" and
every feature is an offset (``lag``) of a column or of a running total. Spark evaluates offsets
and running totals incrementally, O(rows); range frames that re-aggregate a sliding window on
every row were 5x slower on the large scale.

Every helper looks strictly before the row's own period: nothing the period reveals leaks into it.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, WindowSpec
from pyspark.sql import functions as F
from pyspark.sql.window import Window


class History:
    """Lags and trailing-window statistics over ``window`` (a series, ordered by period).

    The helpers return plain expressions over named window columns, each window function
    registered once; :meth:`add` computes those in one window pass, then the features in a plain
    projection. (Window functions nested inside arithmetic were evaluated once per use: std and
    zero share alone cost 6x the rest of the build.)
    """

    def __init__(self, window: WindowSpec, period: str = "period") -> None:
        self.window = window
        self.windowed: dict[str, Column] = {}
        first = self._register("_first", F.min(period).over(window.rowsBetween(Window.unboundedPreceding, 0)))
        self.age = F.col(period) - first

    def _register(self, name: str, expression: Column) -> Column:
        self.windowed.setdefault(name, expression)
        return F.col(name)

    def add(self, df: DataFrame, features: dict[str, Column]) -> DataFrame:
        """``df`` with ``features`` (built from this object's helpers) added as columns."""
        with_windows = df.select("*", *(e.alias(n) for n, e in self.windowed.items()))
        return with_windows.select("*", *(e.alias(n) for n, e in features.items())).drop(*self.windowed)

    def with_running_totals(self, df: DataFrame, columns: dict[str, Column]) -> DataFrame:
        """Add a running total (series start up to and including the row) for each expression."""
        frame = self.window.rowsBetween(Window.unboundedPreceding, Window.currentRow)
        return df.select("*", *(F.sum(expression).over(frame).alias(name) for name, expression in columns.items()))

    def lag(self, column: str, k: int) -> Column:
        """The value ``k`` periods back; null before the series began."""
        return self._register(f"_lag_{column}_{k}", F.lag(column, k).over(self.window))

    def periods_seen(self, w: int) -> Column:
        """How many of the last ``w`` periods the series existed in (0 on its first period)."""
        return F.least(F.lit(w), self.age)

    def sum_last(self, running: str, w: int) -> Column:
        """Sum over the last ``w`` periods of the column behind the running total ``running``."""
        return self.lag(running, 1) - F.coalesce(self.lag(running, w + 1), F.lit(0))

    def mean(self, running: str, w: int) -> Column:
        """Mean over the last ``w`` periods (of a 0/1 column: the share of periods where it was 1)."""
        n = self.periods_seen(w)
        return F.when(n > 0, self.sum_last(running, w) / n)

    def std(self, running: str, running_squares: str, w: int) -> Column:
        """Population standard deviation over the last ``w`` periods."""
        n = self.periods_seen(w)
        mean = self.sum_last(running, w) / n
        return F.when(n > 0, F.sqrt(F.greatest(self.sum_last(running_squares, w) / n - mean * mean, F.lit(0.0))))
