"""Plotly figures as plain dicts (plotly.js's own JSON schema), drawn in the browser.

Building them as dicts keeps the Python side to a few microseconds per chart and needs no
plotly import at request time; the page hands each to ``Plotly.newPlot`` (``static/ui.js``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Figure = dict[str, Any]


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 15}},
        "margin": {"l": 60, "r": 30, "t": 44, "b": 60},
        "height": 340,
        "legend": {"orientation": "h", "y": -0.25},
        **extra,
    }


def heatmap(labels: Sequence[str], counts: Sequence[Sequence[int]]) -> Figure:
    """The confusion matrix: true intents down, predicted across."""
    size = max(360, 26 * len(labels) + 160)
    return {
        "data": [
            {
                "type": "heatmap",
                "z": [list(row) for row in counts],
                "x": list(labels),
                "y": list(labels),
                "colorscale": "Blues",
                "hovertemplate": "true %{y}<br>predicted %{x}<br>%{z}<extra></extra>",
            }
        ],
        "layout": _layout(
            "Confusion (test split)",
            height=size,
            xaxis={"title": {"text": "predicted"}, "type": "category"},
            yaxis={"title": {"text": "true"}, "type": "category", "autorange": "reversed"},
        ),
    }


def lines(
    title: str,
    x: Sequence[Any],
    series: dict[str, Sequence[float | None]],
    *,
    markers: Sequence[tuple[Any, float | None, str]] = (),
    marker_name: str = "",
    x_type: str = "category",
    y_range: Sequence[float] | None = None,
    shapes: Sequence[dict[str, Any]] = (),
) -> Figure:
    """One line per series over ``x``; ``markers`` (x, y, hover text) drawn as stars."""
    data: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines+markers", "name": name, "x": list(x), "y": list(ys)}
        for name, ys in series.items()
    ]
    if markers:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": marker_name,
                "x": [m[0] for m in markers],
                "y": [m[1] for m in markers],
                "text": [m[2] for m in markers],
                "hovertemplate": "%{text}<extra></extra>",
                "marker": {"symbol": "star", "size": 13, "color": "#d4a017"},
            }
        )
    yaxis: dict[str, Any] = {} if y_range is None else {"range": list(y_range)}
    return {
        "data": data,
        "layout": _layout(title, xaxis={"type": x_type}, yaxis=yaxis, shapes=list(shapes)),
    }


def bars(
    title: str,
    x: Sequence[Any],
    series: dict[str, Sequence[float]],
    *,
    x_type: str = "category",
    shapes: Sequence[dict[str, Any]] = (),
    annotations: Sequence[dict[str, Any]] = (),
) -> Figure:
    """Stacked bars, one trace per series."""
    return {
        "data": [
            {"type": "bar", "name": name, "x": list(x), "y": list(ys)}
            for name, ys in series.items()
        ],
        "layout": _layout(
            title,
            barmode="stack",
            xaxis={"type": x_type},
            shapes=list(shapes),
            annotations=list(annotations),
        ),
    }


def time_marks(moves: Sequence[tuple[str, str]]) -> tuple[list[dict[str, Any]], list[Any]]:
    """Vertical lines (shapes) and their labels (annotations) at ``(iso time, text)``."""
    shapes = [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": at,
            "x1": at,
            "y0": 0,
            "y1": 1,
            "line": {"color": "#c0392b", "width": 1, "dash": "dot"},
        }
        for at, _ in moves
    ]
    notes = [
        {
            "x": at,
            "y": 1,
            "xref": "x",
            "yref": "paper",
            "text": text,
            "showarrow": False,
            "yanchor": "bottom",
            "font": {"size": 10, "color": "#c0392b"},
        }
        for at, text in moves
    ]
    return shapes, notes
