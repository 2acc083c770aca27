"""Charts as server-rendered SVG (pygal), inlined in the page, within a strict
Content-Security-Policy.

pygal by default loads its tooltip script from a CDN and writes a `<style>` and a config
`<script>` into every SVG. Here `js=[]` drops the CDN script, and the rendered tree is stripped
of every `<script>` and `<style>`: the chart carries no code and no inline style. Its look comes
from one stylesheet, `chart_stylesheet()` (pygal's own CSS for our style, scoped to
`svg.pygal-chart`, served by the reports at `reports/charts.css`), so `style-src 'self'` holds.
Text uses `font-family: inherit`: an inline SVG takes the page's fonts, so CJK labels read in
zh-hans as well as in English. The numbers are also in the table under each chart.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree import ElementTree

import pygal
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from pygal.style import Style

CHART_CLASS = "pygal-chart"
PALETTE = (
    "#2f6db5",
    "#d9822b",
    "#3a9d5d",
    "#c23b3b",
    "#7b5ea7",
    "#8c6d3f",
    "#d45fa0",
    "#6b7a8f",
    "#b8a21e",
    "#1f9eab",
)
STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#333",
    foreground_strong="#222",
    foreground_subtle="#ddd",
    opacity=".9",
    opacity_hover="1",
    colors=PALETTE,
    font_family="inherit",
    label_font_size=13,
    major_label_font_size=13,
    value_font_size=12,
    legend_font_size=13,
    title_font_size=15,
    tooltip_font_size=12,
    no_data_font_size=18,
)
SIZES = {"full": (900, 360), "small": (420, 220)}


def _config(size: str, **extra: object) -> dict[str, object]:
    width, height = SIZES[size]
    return {
        "style": STYLE,
        "js": [],  # no tooltip script from the internet
        "classes": [CHART_CLASS, f"chart-{size}"],
        "width": width,
        "height": height,
        "disable_xml_declaration": True,
        "explicit_size": False,
        # The legend is HTML under the chart (page fonts, wraps on a phone): see `legend()`.
        "show_legend": False,
        "no_data_text": _("No data"),
        "x_label_rotation": 30,
        "truncate_label": -1,
        "truncate_legend": -1,
        "margin": 8,
        "spacing": 10,
        "print_values": False,
        "min_scale": 2,
        "max_scale": 6,
        "value_formatter": _number,
        **extra,
    }


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _tag(node: ElementTree.Element) -> str:
    return node.tag.rsplit("}", 1)[-1] if isinstance(node.tag, str) else ""


def _strip(tree: ElementTree.Element) -> None:
    """Remove every <script> and <style>, pygal's comments, the tooltip layer (it needs the
    script) and any style attribute from the rendered tree."""
    for parent in list(tree.iter()):
        for child in list(parent):
            tag = _tag(child)
            if tag in ("script", "style") or not tag or "tooltip-overlay" in child.get("class", ""):
                parent.remove(child)
        parent.attrib.pop("style", None)


@dataclass(frozen=True)
class Drawing:
    """A rendered chart: the inline SVG and its legend [(colour index, series name)]."""

    svg: SafeString
    legend: list[tuple[int, str]]


def _svg(chart: pygal.graph.graph.Graph, label: str) -> SafeString:
    tree = chart.render_tree()
    _strip(tree)
    for node in tree:
        if _tag(node) == "title":
            node.text = label
    tree.set("role", "img")
    tree.set("aria-label", label)
    tree.attrib.pop("id", None)
    svg = ElementTree.tostring(tree, encoding="unicode")
    return mark_safe(svg)  # noqa: S308 - built by pygal from our numbers, text escaped by etree


def bar_chart(
    *,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int | float | None]]],
    stacked: bool = False,
    horizontal: bool = False,
    size: str = "full",
) -> Drawing:
    """A (stacked, horizontal) bar chart of `series` [(name, values per x label)]."""
    kind = {
        (False, False): pygal.Bar,
        (True, False): pygal.StackedBar,
        (False, True): pygal.HorizontalBar,
        (True, True): pygal.HorizontalStackedBar,
    }[(stacked, horizontal)]
    extra: dict[str, object] = {"x_label_rotation": 0} if horizontal else {}
    chart = kind(**_config(size, **extra))
    return _fill(chart, title, x_labels, series, stacked=stacked)


def line_chart(
    *,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int | float | None]]],
    size: str = "full",
    percent: bool = False,
) -> Drawing:
    extra: dict[str, object] = {"dots_size": 3, "allow_interruptions": True}
    if percent:
        extra.update(range=(0, 100), value_formatter=lambda v: f"{v:.0f}%" if v is not None else "")
    chart = pygal.Line(**_config(size, **extra))
    return _fill(chart, title, x_labels, series)


def _ticks(top: float) -> list[float]:
    """Round value-axis ticks from 0 to at least `top`: whole numbers for counts."""
    if top <= 0:
        return [0, 1]
    step = 1.0
    while top / step > 6:
        for factor in (2, 2.5, 2):
            step *= factor
            if top / step <= 6:
                break
    count = math.ceil(top / step)
    return [round(i * step, 2) for i in range(count + 1)]


def _fill(
    chart: pygal.graph.graph.Graph,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int | float | None]]],
    *,
    stacked: bool = False,
) -> Drawing:
    has_data = any(v for _name, values in series for v in values if v)
    if has_data:
        chart.x_labels = list(x_labels)
        for name, values in series:
            chart.add(name, list(values))
        columns = list(zip(*(values for _name, values in series), strict=True))
        top = max(
            (sum(v or 0 for v in col) if stacked else max(v or 0 for v in col)) for col in columns
        )
        if not getattr(chart, "range", None):
            chart.y_labels = _ticks(top)
    return Drawing(
        _svg(chart, title), legend([name for name, _values in series]) if has_data else []
    )


def legend(series_names: Sequence[str]) -> list[tuple[int, str]]:
    """(colour index, name) of each series, for the HTML legend (none for a single series)."""
    if len(series_names) < 2:
        return []
    return [(i % len(PALETTE), str(name)) for i, name in enumerate(series_names)]


@functools.cache
def chart_stylesheet() -> str:
    """pygal's CSS for STYLE, scoped to `svg.pygal-chart` instead of one chart's random id."""
    sample = pygal.Bar(style=STYLE, js=[], disable_xml_declaration=True)
    for i in range(len(PALETTE)):
        sample.add(str(i), [1])
    tree = sample.render_tree()
    prefix = f"#chart-{sample.uuid}"
    css = "\n".join(
        (node.text or "") for node in tree.iter() if str(node.tag).rsplit("}", 1)[-1] == "style"
    )
    swatches = "".join(
        f".chart-legend .swatch-{i}{{background:{colour}}}" for i, colour in enumerate(PALETTE)
    )
    return css.replace(prefix, f"svg.{CHART_CLASS}") + "\n" + swatches
