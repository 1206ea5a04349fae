"""The pool page's revenue chart: payments per month as stacked bars, drawn on the server as SVG.

No script and no chart library: a few rectangles in a viewBox that scales to the page's width.
Bars split each month's payments into the operator's part and the founders' part, as the API's
`/revenue` `byMonth` gives them.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from api.models import amount
from api.routes.revenue import MonthOut

__all__ = ["revenue_chart"]

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 8, 8, 24, 36


def revenue_chart(months: Sequence[MonthOut]) -> Markup | None:
    """An inline SVG of `months` (None when the pool received no payment)."""
    if not months:
        return None
    peak = max(int(m.amount.value) for m in months) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(months)
    bar = max(min(slot * 0.7, 60.0), 1.0)
    label_every = max(1, round(len(months) / 8))
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title" '
        'xmlns="http://www.w3.org/2000/svg">',
        "<title id=\"chart-title\">Payments per month, split into the operator's and the founders' part; "
        f"the highest month received {escape(_display(months, peak))}</title>",
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" stroke="#8a94a0"/>',
        f'<text x="{LEFT}" y="{TOP - 8}" font-size="13" fill="#4d5560">{escape(_display(months, peak))}</text>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{WIDTH - RIGHT}" y2="{TOP}" stroke="#d5d9df" stroke-dasharray="4 4"/>',
    ]
    for n, month in enumerate(months):
        x = LEFT + n * slot + (slot - bar) / 2
        operator = int(month.operator.value) * plot_h / peak
        founders = int(month.founders.value) * plot_h / peak
        base = TOP + plot_h
        tip = f"{month.month}: {month.payments} payments, {month.amount.display} "
        tip += f"(operator {month.operator.display}, founders {month.founders.display})"
        parts.append(f"<g><title>{escape(tip)}</title>")
        parts.append(
            f'<rect class="op" x="{x:.1f}" y="{base - operator:.1f}" width="{bar:.1f}" height="{operator:.1f}"/>'
        )
        parts.append(
            f'<rect class="fo" x="{x:.1f}" y="{base - operator - founders:.1f}" width="{bar:.1f}" '
            f'height="{founders:.1f}"/></g>'
        )
        if n % label_every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{base + 20}" font-size="13" text-anchor="middle" '
                f'fill="#4d5560">{escape(month.month)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _display(months: Sequence[MonthOut], units: int) -> str:
    """`units` in the months' token, the way the API writes amounts (2,000.00 tUSD)."""
    sample = months[0].amount
    token = (sample.decimals, sample.symbol) if sample.decimals is not None and sample.symbol else None
    return amount(units, token).display
