"""bench/pages.py's table: what a reader of the page benchmark sees flagged.

Only the pure part (bench/page_table.py) is tested; the timings themselves are
never asserted (benchmarks live in bench/, not in the suite).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from page_table import PageFigures, compare, flagged, percentile, table


def figures(queries, p50=10.0, p95=40.0, status=200):
    return PageFigures(
        queries=queries, one_p50=p50, one_p95=p50, many_p50=p95, many_p95=p95, status=status
    )


def test_a_page_whose_query_count_grows_with_the_data_is_flagged_as_a_bug():
    small = {"flat": figures(12), "n_plus_one": figures(30)}
    large = {"flat": figures(12, p50=20.0), "n_plus_one": figures(130)}

    rows = compare(small, large)

    assert [row.page for row in flagged(rows)] == ["n_plus_one"]
    printed = table(rows, (1000, 5000), 16)
    assert "| n_plus_one | 30 | 130 |" in printed and "QUERIES GROW" in printed
    flat_line = next(line for line in printed.splitlines() if line.startswith("| flat "))
    assert "QUERIES GROW" not in flat_line


def test_the_reader_sees_how_many_times_slower_a_page_got_at_the_large_size():
    rows = compare({"report": figures(9, p50=25.0, p95=50.0)}, {"report": figures(9, 100.0, 75.0)})

    line = table(rows, (1000, 5000), 16).splitlines()[-1]

    assert "| 4.00x |" in line and "| 1.50x |" in line
    assert rows[0].ratio("one_p50") == 4.0


def test_a_page_that_answers_an_error_at_either_size_is_flagged():
    rows = compare({"api": figures(8)}, {"api": figures(8, status=500)})

    assert flagged(rows) == rows
    assert "HTTP 200/500" in table(rows, (1000, 5000), 16)


def test_a_page_measured_at_one_size_only_is_left_out_of_the_comparison():
    rows = compare({"a": figures(1), "b": figures(2)}, {"b": figures(2)})

    assert [row.page for row in rows] == ["b"]


def test_the_percentiles_are_nearest_rank():
    values = [float(n) for n in range(1, 101)]

    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile([7.0], 0.95) == 7.0


def test_a_page_that_redirects_the_role_to_its_landing_page_is_not_flagged():
    rows = compare({"queues": figures(9, status=302)}, {"queues": figures(9, status=302)})

    assert flagged(rows) == []
    assert "HTTP" not in table(rows, (1000, 5000), 16).splitlines()[-1]
