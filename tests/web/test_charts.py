"""The run charts as SVG: a bar per run or day for the data given, coloured by outcome, with a
<title> a screen reader reads and captions with the counts; an empty state without a drawing."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime

from connectorhub.web.charts import (
    COLOURS,
    DayCount,
    RunPoint,
    daily_chart,
    fill_days,
    runs_chart,
)

SVG = "{http://www.w3.org/2000/svg}"


def parsed(markup) -> ET.Element:
    # The figure is XHTML-clean: parse it as XML, the SVG in its own namespace.
    return ET.fromstring(
        str(markup).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    )


def bars(figure: ET.Element) -> list[ET.Element]:
    return figure.findall(f".//{SVG}rect")


RUNS = [
    RunPoint(datetime(2026, 12, 1, 9, 30), "succeeded", 120.0),
    RunPoint(datetime(2026, 12, 1, 10, 0), "failed", 40.0),
    RunPoint(datetime(2026, 12, 2, 8, 15), "succeeded", 480.0),
]


def test_one_bar_per_run_coloured_by_outcome_tallest_for_the_longest():
    figure = parsed(runs_chart(RUNS, chart_id="c1", label="Runs of Issues", size="large"))
    drawn = bars(figure)
    assert [b.get("data-bar") for b in drawn] == ["succeeded", "failed", "succeeded"]
    assert [b.get("fill") for b in drawn] == [
        COLOURS["succeeded"], COLOURS["failed"], COLOURS["succeeded"]
    ]  # fmt: skip
    heights = [float(b.get("height")) for b in drawn]
    assert heights[2] == max(heights) and heights[1] < heights[0] < heights[2]
    xs = [float(b.get("x")) for b in drawn]
    assert xs == sorted(xs)  # oldest on the left
    tips = [b.find(f"{SVG}title").text for b in drawn]
    assert tips[1] == "2026-12-01 10:00 UTC · failed · 40 ms"


def test_the_chart_is_an_image_titled_with_its_counts():
    figure = parsed(runs_chart(RUNS, chart_id="c2", label="Runs of Issues"))
    svg = figure.find(f"{SVG}svg")
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "c2-title"
    title = svg.find(f"{SVG}title")
    assert title.get("id") == "c2-title"
    assert title.text == "Runs of Issues: 3 runs · 2 succeeded · 1 failed"
    caption = figure.find("figcaption")
    assert caption.text == "3 runs · 2 succeeded · 1 failed"
    assert figure.get("data-runs") == "3"


def test_sync_bars_measure_rows_and_say_them():
    points = [
        RunPoint(datetime(2026, 12, 1), "succeeded", 2500.0, rows=10),
        RunPoint(datetime(2026, 12, 2), "succeeded", 900.0, rows=1),
    ]
    figure = parsed(runs_chart(points, chart_id="c3", label="Syncs of Shop", measure="rows",
                               size="large"))  # fmt: skip
    first, second = bars(figure)
    assert float(first.get("height")) > float(second.get("height"))  # more rows, though faster
    assert first.find(f"{SVG}title").text == "2026-12-01 00:00 UTC · succeeded · 2,500 ms · 10 rows"
    assert second.find(f"{SVG}title").text.endswith("· 1 row")
    assert "tallest: 10 rows" in "".join(figure.find("div").itertext())


def test_no_runs_is_said_not_drawn():
    figure = parsed(runs_chart([], chart_id="c4", label="Runs of Issues"))
    assert figure.find(f".//{SVG}svg") is None
    assert figure.find("figcaption").text == "Runs of Issues: no runs yet"
    assert figure.get("data-runs") == "0"
    empty_days = fill_days([], until=date(2026, 12, 3), days=7)
    quiet = parsed(daily_chart(empty_days, chart_id="d0", label="Syncs per day"))
    assert quiet.find(f".//{SVG}svg") is None
    assert quiet.find("figcaption").text == "Syncs per day: no runs in the last 7 days"


def test_days_are_filled_and_stacked_by_outcome():
    rows = [("2026-12-01", "succeeded", 3), ("2026-12-01", "failed", 1),
            ("2026-12-03", "cancelled", 2), ("2026-12-03", "succeeded", 1)]  # fmt: skip
    days = fill_days(rows, until=date(2026, 12, 3), days=4)
    assert days == [
        DayCount(date(2026, 11, 30)),
        DayCount(date(2026, 12, 1), succeeded=3, failed=1),
        DayCount(date(2026, 12, 2)),
        DayCount(date(2026, 12, 3), succeeded=1, other=2),
    ]
    figure = parsed(daily_chart(days, chart_id="d1", label="Executions per day"))
    drawn = bars(figure)
    assert [b.get("data-bar") for b in drawn] == ["succeeded", "failed", "succeeded", "other"]
    # A day's parts stack: the failed part sits right on top of the succeeded one.
    succeeded, failed = drawn[0], drawn[1]
    assert float(failed.get("y")) + float(failed.get("height")) == float(succeeded.get("y"))
    assert float(succeeded.get("height")) == 3 * float(failed.get("height"))
    assert drawn[0].find(f"{SVG}title").text == "2026-12-01: 4 runs, 3 succeeded, 1 failed"
    assert figure.find("figcaption").text == ("7 runs in the last 4 days · 4 succeeded · 1 failed")
    title = figure.find(f"{SVG}svg/{SVG}title").text
    assert title.startswith("Executions per day: 7 runs")


def test_labels_are_escaped():
    figure = runs_chart(RUNS, chart_id="c5", label="Runs of <b>&co")
    assert "<b>" not in str(figure) and "Runs of &lt;b&gt;&amp;co" in str(figure)
