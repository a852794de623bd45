"""The pure part of bench/pages.py: percentiles, the small/large comparison, the table.

No Django here, so tests/portal_adoption/test_page_benchmark_table.py checks it
without a database or a server.
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PageFigures:
    """One page at one size: its queries, and its times for 1 user and for N at once."""

    queries: int | None
    one_p50: float
    one_p95: float
    many_p50: float
    many_p95: float
    status: int = 200


@dataclass(frozen=True)
class Comparison:
    page: str
    small: PageFigures
    large: PageFigures

    @property
    def queries_grow(self) -> bool:
        """A page whose query count changes with the data: a bug (N+1 or a loop of queries)."""
        if self.small.queries is None or self.large.queries is None:
            return False
        return self.large.queries > self.small.queries

    @property
    def failed(self) -> bool:
        """An error at either size (a redirect, such as a role's landing page, is an answer)."""
        return self.small.status >= 400 or self.large.status >= 400

    def ratio(self, figure: str) -> float | None:
        small, large = getattr(self.small, figure), getattr(self.large, figure)
        if small is None or large is None or small <= 0:
            return None
        return large / small


def percentile(values: list[float], share: float) -> float:
    """Nearest rank, as the other benchmarks report it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def compare(small: dict[str, PageFigures], large: dict[str, PageFigures]) -> list[Comparison]:
    """Pages measured at both sizes, in the order of the small run."""
    return [Comparison(page, small[page], large[page]) for page in small if page in large]


def flagged(comparisons: list[Comparison]) -> list[Comparison]:
    return [row for row in comparisons if row.queries_grow or row.failed]


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _queries(value: int | None) -> str:
    return "-" if value is None else str(value)


def table(comparisons: list[Comparison], sizes: tuple[int, int], users: int) -> str:
    """A Markdown table: queries, 1-user p50 and N-user p95 at each size, and the ratios."""
    small_n, large_n = (f"{size:,}" for size in sizes)
    header = (
        f"| page | queries {small_n} | queries {large_n} | p50 1 user {small_n} | "
        f"p50 1 user {large_n} | ratio | p95 {users} users {small_n} | "
        f"p95 {users} users {large_n} | ratio | flag |"
    )
    lines = [header, "| " + " | ".join(["---"] * 10) + " |"]
    for row in comparisons:
        flag = []
        if row.queries_grow:
            flag.append("QUERIES GROW")
        if row.failed:
            flag.append(f"HTTP {row.small.status}/{row.large.status}")
        lines.append(
            f"| {row.page} | {_queries(row.small.queries)} | {_queries(row.large.queries)} | "
            f"{row.small.one_p50:.1f} | {row.large.one_p50:.1f} | "
            f"{_ratio(row.ratio('one_p50'))} | {row.small.many_p95:.1f} | "
            f"{row.large.many_p95:.1f} | {_ratio(row.ratio('many_p95'))} | {', '.join(flag)} |"
        )
    return "\n".join(lines)
