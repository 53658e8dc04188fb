"""The revenue chart of the finance pages: stacked bars per month and product line, as the
geometry an inline SVG template draws (no JavaScript, nothing fetched)."""

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from billing.reports import Revenue

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 80, 10, 10, 30
# One colour per product line, in order of size (repeating past the last).
PALETTE = ("#2a6fb0", "#e08a1e", "#3a9d5d", "#a8261d", "#7b5ea7", "#5f6b7a", "#c9b037")


@dataclass
class Segment:
    line: str
    colour: str
    amount: Decimal
    x: float
    y: float
    width: float
    height: float


@dataclass
class Bar:
    label: str
    total: Decimal
    x: float
    label_x: float
    segments: list[Segment] = field(default_factory=list)


@dataclass
class Chart:
    currency: str
    width: int
    height: int
    bars: list[Bar]
    gridlines: list[tuple[float, Decimal]]  # (y, value)
    legend: list[tuple[str, str]]  # (line, colour)
    axis_y: float


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 1)."""
    if value <= 1:
        return Decimal(1)
    exponent = len(str(int(value.to_integral_value(ROUND_CEILING)))) - 1
    for step in (1, 2, 5):
        candidate = Decimal(step) * Decimal(10) ** exponent
        if candidate >= value:
            return candidate
    return Decimal(10) ** (exponent + 1)


def revenue_chart(revenue: Revenue, currency: str) -> Chart:
    """Stacked bars of `currency`'s revenue: one bar a month, one segment a product line (only
    what is positive is drawn; the table beside it gives every figure)."""
    lines = revenue.lines[currency]
    colours = {line: PALETTE[i % len(PALETTE)] for i, line in enumerate(lines)}
    heights = {
        month: sum(
            (
                max(revenue.table[currency][line].get(month, Decimal(0)), Decimal(0))
                for line in lines
            ),
            Decimal(0),
        )
        for month in revenue.months
    }
    top = nice_ceiling(max(heights.values(), default=Decimal(0)))
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(revenue.months), 1)
    bar_width = round(slot * 0.7, 1)
    totals = revenue.month_totals(currency)
    bars = []
    for i, month in enumerate(revenue.months):
        x = round(LEFT + i * slot + (slot - bar_width) / 2, 1)
        bar = Bar(
            label=month.strftime("%b %Y"),
            total=totals[month],
            x=x,
            label_x=round(x + bar_width / 2, 1),
        )
        base = Decimal(0)
        for line in lines:
            amount = revenue.table[currency][line].get(month, Decimal(0))
            if amount <= 0:
                continue
            y_top = TOP + plot_height * float(1 - (base + amount) / top)
            y_bottom = TOP + plot_height * float(1 - base / top)
            bar.segments.append(
                Segment(
                    line=line,
                    colour=colours[line],
                    amount=amount,
                    x=x,
                    y=round(y_top, 1),
                    width=bar_width,
                    height=round(max(y_bottom - y_top, 0.5), 1),
                )
            )
            base += amount
        bars.append(bar)
    gridlines = [
        (round(TOP + plot_height * (1 - fraction), 1), top * Decimal(str(fraction)))
        for fraction in (0, 0.25, 0.5, 0.75, 1)
    ]
    return Chart(
        currency=currency,
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        gridlines=gridlines,
        legend=[(line, colours[line]) for line in lines],
        axis_y=HEIGHT - BOTTOM,
    )
