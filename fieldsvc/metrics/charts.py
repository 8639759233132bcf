"""Trend charts drawn on the server as SVG geometry (no script, light on a phone): the points of a
series scaled into a fixed viewBox, gaps where nothing was stored, and the target line."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .definitions import Kind, Metric

WIDTH, HEIGHT = 320, 150
LEFT, RIGHT, TOP, BOTTOM = 38, 8, 10, 22  # room for the axis labels


@dataclass
class Chart:
    """What the template draws: polylines (one per run without gaps), dots, the target's height,
    and the labels of both axes."""

    width: int = WIDTH
    height: int = HEIGHT
    lines: list[str] = field(default_factory=list)
    dots: list[tuple[float, float]] = field(default_factory=list)
    target_y: float | None = None
    y_labels: list[tuple[float, str]] = field(default_factory=list)
    x_labels: list[tuple[float, str, str]] = field(default_factory=list)  # x, text, anchor


def shown(metric: Metric, value: float) -> float:
    """A value as the chart plots it: rates in percent."""
    return value * 100 if metric.kind is Kind.RATE else value


def chart(metric: Metric, starts: list[date], values: list[float | None], target: float | None) -> Chart:
    """The geometry of one series (values as stored: rates 0–1) with its target (same scale)."""
    result = Chart()
    plotted = [None if v is None else shown(metric, v) for v in values]
    known = [v for v in plotted if v is not None]
    goal = None if target is None else shown(metric, target)
    if metric.kind is Kind.RATE:
        floor = min([*known, *([goal] if goal is not None else []), 100.0])
        low = max(0.0, (int(floor) // 5) * 5 - 5) if floor < 100 else 90.0
        high = 100.0
    else:
        low, high = 0.0, max([*known, 1.0]) * 1.1
    span = (high - low) or 1.0
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(len(starts) - 1, 1)

    def x(i: int) -> float:
        return round(LEFT + inner_w * i / count, 1)

    def y(v: float) -> float:
        return round(TOP + inner_h * (1 - (min(max(v, low), high) - low) / span), 1)

    run: list[str] = []
    for i, v in enumerate(plotted):
        if v is None:
            if run:
                result.lines.append(" ".join(run))
            run = []
            continue
        run.append(f"{x(i)},{y(v)}")
        result.dots.append((x(i), y(v)))
    if run:
        result.lines.append(" ".join(run))
    if goal is not None:
        result.target_y = y(goal)
    unit = "%" if metric.kind is Kind.RATE else ""
    result.y_labels = [(y(low), f"{low:.0f}{unit}"), (y(high), f"{high:.0f}{unit}" if unit else f"{high:.1f}")]
    if starts:
        result.x_labels = [(x(0), starts[0].strftime("%m-%d"), "start"),
                           (x(len(starts) - 1), starts[-1].strftime("%m-%d"), "end")]
    return result
