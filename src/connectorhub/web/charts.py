"""Small server-rendered SVG bar charts of runs: no script, no library, readable by a screen
reader (each chart is an image whose <title> says what it shows, each bar has its own <title>),
and sized by the box it sits in (a viewBox, width 100%).

Two kinds: one bar per run of a connector (its height the run's duration, or rows synced; its
colour the outcome), and runs per day of a workspace stacked by outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from markupsafe import Markup, escape

COLOURS = {"succeeded": "#2fb344", "failed": "#d63939", "cancelled": "#9ba9be"}
ACTIVE_COLOUR = "#066fd1"  # queued or running
SIZES = {"small": (240, 44), "large": (720, 160)}  # the drawing's units; CSS sets the height


@dataclass(frozen=True)
class RunPoint:
    """One run as a chart draws it (`rows`: a sync's rows loaded; None for an execution)."""

    at: datetime
    status: str
    duration_ms: float | None
    rows: int | None = None


@dataclass(frozen=True)
class DayCount:
    day: date
    succeeded: int = 0
    failed: int = 0
    other: int = 0  # cancelled, queued or running

    @property
    def total(self) -> int:
        return self.succeeded + self.failed + self.other


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _duration(ms: float | None) -> str:
    if ms is None:
        return "no duration yet"
    return f"{ms:,.0f} ms" if ms < 10_000 else f"{ms / 1000:,.1f} s"


def _outcomes(statuses: Iterable[str]) -> str:
    statuses = list(statuses)
    succeeded = sum(s == "succeeded" for s in statuses)
    failed = sum(s == "failed" for s in statuses)
    parts = [plural(len(statuses), "run"), f"{succeeded:,} succeeded", f"{failed:,} failed"]
    other = len(statuses) - succeeded - failed
    if other:
        parts.append(f"{other:,} other")
    return " · ".join(parts)


def _empty(chart_id: str, label: str, message: str) -> Markup:
    return Markup(
        '<figure class="run-chart run-chart-empty mb-0" id="{id}" data-testid="run-chart" '
        'data-runs="0"><figcaption class="small text-secondary">{label}: {message}'
        "</figcaption></figure>"
    ).format(id=chart_id, label=label, message=message)


def _figure(
    chart_id: str, label: str, caption: str, size: str, body: list[str], runs: int,
    scale: str = "",
) -> Markup:  # fmt: skip
    """The chart as a figure: the bars stretched to the box's width (no text inside the drawing,
    so nothing is distorted), the scale under it, and a caption saying what it counts."""
    width, height = SIZES[size]
    title = escape(f"{label}: {caption}")
    svg = (
        f'<svg class="run-chart-svg" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="none" role="img" aria-labelledby="{chart_id}-title">'
        f'<title id="{chart_id}-title">{title}</title>'
        f'<line x1="0" y1="{height}" x2="{width}" y2="{height}" stroke="#dadfe5" '
        f'vector-effect="non-scaling-stroke"/>{"".join(body)}</svg>'
    )
    return Markup(
        f'<figure class="run-chart run-chart-{size} mb-0" id="{chart_id}" data-testid="run-chart"'
        f' data-runs="{runs}">{svg}{scale}<figcaption class="small text-secondary" '
        f'data-testid="chart-caption">{escape(caption)}</figcaption></figure>'
    )


def _bar(x: float, y: float, w: float, h: float, colour: str, tip: str, kind: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{colour}" '
        f'rx="1" data-bar="{kind}"><title>{escape(tip)}</title></rect>'
    )


def _scale(first: str, top: str, last: str) -> str:
    """The first day, the tallest bar's value and the last day, under a large chart."""
    return (
        '<div class="run-chart-scale d-flex justify-content-between gap-2 small text-secondary"'
        f' aria-hidden="true"><span>{escape(first)}</span><span>{escape(top)}</span>'
        f"<span>{escape(last)}</span></div>"
    )


def runs_chart(
    points: Sequence[RunPoint], *, chart_id: str, label: str, size: str = "small",
    measure: str = "duration",
) -> Markup:  # fmt: skip
    """One bar per run, oldest on the left: its height the run's duration (`measure`
    "duration") or rows synced ("rows"), its colour the outcome; each bar's <title> tells the
    run. `size`: "small" (a card) or "large" (a history page, with its scale and dates)."""
    if not points:
        return _empty(chart_id, label, "no runs yet")
    width, height = SIZES[size]

    def value(p: RunPoint) -> float:
        return float((p.rows if measure == "rows" else p.duration_ms) or 0)

    top = max(value(p) for p in points) or 1.0
    slot = width / max(len(points), 12 if size == "small" else 30)
    body = []
    for index, p in enumerate(points):
        bar_height = max(value(p) / top * (height - 14), 2.0)
        facts = [f"{p.at:%Y-%m-%d %H:%M} UTC", p.status, _duration(p.duration_ms)]
        if p.rows is not None:
            facts.append(plural(p.rows, "row"))
        colour = COLOURS.get(p.status, ACTIVE_COLOUR)
        x = width - (len(points) - index) * slot  # right-aligned: the newest at the edge
        body.append(
            _bar(
                x + 1,
                height - bar_height,
                slot - 2,
                bar_height,
                colour,
                " · ".join(facts),
                p.status,
            )
        )
    scale = ""
    if size == "large":
        tallest = plural(int(top), "row") if measure == "rows" else _duration(top)
        scale = _scale(
            f"{points[0].at:%Y-%m-%d}", f"tallest: {tallest}", f"{points[-1].at:%Y-%m-%d}"
        )
    caption = _outcomes(p.status for p in points)
    return _figure(chart_id, label, caption, size, body, len(points), scale)


def fill_days(counts: Iterable[tuple[str, str, int]], *, until: date, days: int) -> list[DayCount]:
    """`(YYYY-MM-DD, status, runs)` rows as one DayCount for each of the `days` days up to
    `until` (days without runs as zeros)."""
    by_day: dict[date, dict[str, int]] = {}
    for day, status, runs in counts:
        key = "succeeded" if status == "succeeded" else "failed" if status == "failed" else "other"
        tally = by_day.setdefault(date.fromisoformat(day), {})
        tally[key] = tally.get(key, 0) + runs
    first = until - timedelta(days=days - 1)
    return [DayCount(d, **by_day.get(d, {})) for d in (first + timedelta(n) for n in range(days))]


def daily_chart(days: Sequence[DayCount], *, chart_id: str, label: str) -> Markup:
    """Runs per day stacked by outcome (succeeded at the bottom, failed, then the rest); each
    day's bar tells its counts. Empty when no day has a run."""
    total = sum(d.total for d in days)
    if not total:
        return _empty(chart_id, label, f"no runs in the last {plural(len(days), 'day')}")
    width, height = SIZES["large"]
    top = max(d.total for d in days)
    slot = width / len(days)
    body = []
    for index, d in enumerate(days):
        tip = f"{d.day:%Y-%m-%d}: {plural(d.total, 'run')}, {d.succeeded} succeeded, {d.failed} failed"
        y = float(height)
        for kind, count in (("succeeded", d.succeeded), ("failed", d.failed), ("other", d.other)):
            if not count:
                continue
            bar_height = count / top * (height - 14)
            y -= bar_height
            colour = COLOURS.get(kind, COLOURS["cancelled"])
            body.append(_bar(index * slot + 2, y, slot - 4, bar_height, colour, tip, kind))
    scale = _scale(
        f"{days[0].day:%Y-%m-%d}", f"busiest: {plural(top, 'run')}", f"{days[-1].day:%Y-%m-%d}"
    )
    succeeded = sum(d.succeeded for d in days)
    failed = sum(d.failed for d in days)
    caption = (
        f"{plural(total, 'run')} in the last {plural(len(days), 'day')} · {succeeded:,} succeeded"
        f" · {failed:,} failed"
    )
    return _figure(chart_id, label, caption, "large", body, total, scale)
