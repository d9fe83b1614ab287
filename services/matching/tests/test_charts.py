"""The statistics page's charts: the numbers drawn are the numbers in the table beside them."""

from __future__ import annotations

import re

import pytest

from helpt_matching.charts import BarChart, render


def test_a_grouped_bar_chart_draws_each_value_and_repeats_it_in_an_accessible_table():
    chart = BarChart("offers", "Offers per vacancy and language", ["Hond uitlaten", "Apotheek <&>"],
                     [("NL", [185, 179]), ("EN", [16, 23])], category_heading="Vacancy")
    out = render(chart)
    assert 'role="img" aria-labelledby="offers-caption"' in out and '<figcaption id="offers-caption">' in out
    widths = [float(w) for w in re.findall(r'<rect x="\d+" y="[\d.]+" width="([\d.]+)" height="13"', out)]
    assert widths == pytest.approx([420.0, 420 * 16 / 185, 420 * 179 / 185, 420 * 23 / 185], abs=0.1), \
        "per vacancy a bar for NL then EN, the largest value the full width"
    assert '<th scope="row">Hond uitlaten</th><td>185</td><td>16</td>' in out
    assert '<th scope="row">Apotheek &lt;&amp;&gt;</th><td>179</td><td>23</td>' in out
    assert "<&>" not in out


def test_a_series_with_a_value_missing_is_refused_rather_than_drawn_shifted():
    with pytest.raises(ValueError, match="has 1 values for 2 categories"):
        BarChart("x", "X", ["a", "b"], [("NL", [1])])


def test_an_all_zero_chart_draws_empty_bars_not_an_error():
    out = render(BarChart("z", "Nothing yet", ["a"], [("NL", [0])]))
    assert 'width="0.0"' in out and "<td>0</td>" in out
