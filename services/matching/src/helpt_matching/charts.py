"""Bar charts for the statistics page: inline SVG, no JavaScript, readable without the picture.

Each chart is a `<figure>` whose SVG is one image (`role="img"`, named by its caption) and whose
numbers are also in a real table beside it, so a screen reader user or someone who zooms gets the
same facts. Bar colours reach at least 3:1 against white (WCAG 1.4.11); colour is never the only
cue (1.4.1): each series has a named legend entry, bars keep the legend's order, and every bar
carries its value as text.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["BarChart", "render", "stats_charts"]

# Dark enough for 3:1 against white; different enough in lightness to tell apart in greyscale.
COLOURS = ("#1f4e79", "#b34700", "#2e6b30", "#6a3d9a")
BAR, GAP, LABEL_W, CHART_W, TOP = 16, 10, 190, 420, 8


@dataclass(frozen=True)
class BarChart:
    """Horizontal grouped bars: one group per category, one bar per series."""

    ident: str
    caption: str
    categories: Sequence[str]
    series: Sequence[tuple[str, Sequence[float]]]
    unit: str = ""
    category_heading: str = ""

    def __post_init__(self) -> None:
        for name, values in self.series:
            if len(values) != len(self.categories):
                raise ValueError(f"series {name!r} has {len(values)} values for {len(self.categories)} categories")


def _number(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


def render(chart: BarChart) -> str:
    """The chart as HTML: a figure with the SVG and its caption, then the table of the same numbers."""
    esc = html.escape
    top = max((v for _, values in chart.series for v in values), default=0) or 1
    per_group = len(chart.series) * BAR + GAP
    height = TOP + len(chart.categories) * per_group + 24
    legend_y = height - 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{esc(chart.ident)}-caption" '
             f'viewBox="0 0 {LABEL_W + CHART_W + 60} {height}" width="100%" focusable="false">']
    for g, category in enumerate(chart.categories):
        y0 = TOP + g * per_group
        parts.append(f'<text x="{LABEL_W - 6}" y="{y0 + len(chart.series) * BAR / 2 + 4}" text-anchor="end" '
                     f'font-size="12" fill="#1a1a1a">{esc(category)}</text>')
        for s, (name, values) in enumerate(chart.series):
            width = CHART_W * values[g] / top
            y = y0 + s * BAR
            colour = COLOURS[s % len(COLOURS)]
            parts.append(f'<rect x="{LABEL_W}" y="{y}" width="{width:.1f}" height="{BAR - 3}" fill="{colour}"/>')
            parts.append(f'<text x="{LABEL_W + width + 4:.1f}" y="{y + BAR - 5}" font-size="11" fill="#1a1a1a">'
                         f'{esc(_number(values[g]))}{esc(chart.unit)}</text>')
    x = LABEL_W
    for s, (name, _) in enumerate(chart.series):
        parts.append(f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{COLOURS[s % len(COLOURS)]}"/>'
                     f'<text x="{x + 14}" y="{legend_y}" font-size="12" fill="#1a1a1a">{esc(name)}</text>')
        x += 14 + 8 * len(name) + 18
    parts.append("</svg>")
    head = "".join(f'<th scope="col">{esc(name)}</th>' for name, _ in chart.series)
    rows = "".join(
        f'<tr><th scope="row">{esc(category)}</th>'
        + "".join(f"<td>{esc(_number(values[g]))}{esc(chart.unit)}</td>" for _, values in chart.series) + "</tr>"
        for g, category in enumerate(chart.categories))
    return (f'<figure class="chart" id="{esc(chart.ident)}"><figcaption id="{esc(chart.ident)}-caption">{esc(chart.caption)}'
            f'</figcaption>{"".join(parts)}</figure>'
            f'<table class="numbers" aria-label="{esc(chart.caption)}"><thead><tr><th scope="col">{esc(chart.category_heading)}</th>'
            f'{head}</tr></thead><tbody>{rows}</tbody></table>')


def stats_charts(report: Any, gettext: Callable[[str], str]) -> list[str]:
    """The statistics page's charts from a `StatsReport`: offers and requests per vacancy and language (the seeds'
    table), per channel, and the last 30 days."""
    languages = [lang.upper() for lang in report.languages]
    vacancies = [row.task for row in report.by_vacancy]
    charts = [
        BarChart("offers-per-vacancy", gettext("Offers of help per vacancy and language of the form"), vacancies,
                 [(name, [row.offers.get(lang, 0) for row in report.by_vacancy]) for lang, name in zip(report.languages, languages)],
                 category_heading=gettext("Vacancy")),
        BarChart("requests-per-vacancy", gettext("Help requests per vacancy and language of the form"), vacancies,
                 [(name, [row.requests.get(lang, 0) for row in report.by_vacancy]) for lang, name in zip(report.languages, languages)],
                 category_heading=gettext("Vacancy")),
        BarChart("per-channel", gettext("Offers and requests per channel"), [row.channel for row in report.by_channel],
                 [(gettext("Offers"), [row.offers for row in report.by_channel]),
                  (gettext("Requests"), [row.requests for row in report.by_channel])], category_heading=gettext("Channel")),
        BarChart("per-day", gettext("Offers, requests and first matches per day (last 30 days)"),
                 [row.day.isoformat() for row in report.over_time[-30:]],
                 [(gettext("Offers"), [row.offers for row in report.over_time[-30:]]),
                  (gettext("Requests"), [row.requests for row in report.over_time[-30:]]),
                  (gettext("Matches"), [row.matches for row in report.over_time[-30:]])], category_heading=gettext("Day")),
    ]
    return [render(chart) for chart in charts if chart.categories]
