"""The revenue-assurance trend chart: cases opened and closed a day (bars, left axis) and the
revenue at risk at each day's end (a line, right axis), as geometry an inline SVG template
draws (no JavaScript, nothing fetched), as billing/charts.py does for revenue."""

from dataclasses import dataclass
from decimal import Decimal

from billing.charts import nice_ceiling
from billing.revenue_selectors import Trend

WIDTH, HEIGHT = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 40, 80, 10, 30
OPENED_COLOUR, CLOSED_COLOUR, AT_RISK_COLOUR = "#a8261d", "#3a9d5d", "#2a6fb0"


@dataclass
class TrendColumn:
    day: str  # ISO date
    label: str  # shown under every few columns
    opened: int
    closed: int
    at_risk: Decimal
    opened_x: float
    opened_y: float
    opened_height: float
    closed_x: float
    closed_y: float
    closed_height: float
    bar_width: float
    point_x: float
    point_y: float


@dataclass
class TrendChart:
    currency: str
    width: int
    height: int
    columns: list[TrendColumn]
    count_gridlines: list[tuple[float, int]]  # (y, cases)
    amount_gridlines: list[tuple[float, Decimal]]  # (y, amount)
    points: str  # the at-risk polyline
    axis_y: float
    right_x: int
    colours: dict[str, str]


def trend_chart(trend: Trend) -> TrendChart:
    plot_height = HEIGHT - TOP - BOTTOM
    count_top = int(
        nice_ceiling(Decimal(max((max(d.opened, d.closed) for d in trend.days), default=0)))
    )
    amount_top = nice_ceiling(max((d.at_risk for d in trend.days), default=Decimal(0)))
    slot = (WIDTH - LEFT - RIGHT) / max(len(trend.days), 1)
    bar_width = round(slot * 0.35, 1)

    def count_y(value: int) -> float:
        return round(TOP + plot_height * (1 - value / count_top), 1)

    def amount_y(value: Decimal) -> float:
        return round(TOP + plot_height * float(1 - value / amount_top), 1)

    columns = []
    # A date label every fifth day and on the last, so they do not overlap.
    label_every = 5
    for i, day in enumerate(trend.days):
        x = LEFT + i * slot
        opened_x = round(x + slot * 0.12, 1)
        columns.append(
            TrendColumn(
                day=day.day.isoformat(),
                label=day.day.strftime("%d %b")
                if (len(trend.days) - 1 - i) % label_every == 0
                else "",
                opened=day.opened,
                closed=day.closed,
                at_risk=day.at_risk,
                opened_x=opened_x,
                opened_y=count_y(day.opened),
                opened_height=round(plot_height * day.opened / count_top, 1),
                closed_x=round(opened_x + bar_width, 1),
                closed_y=count_y(day.closed),
                closed_height=round(plot_height * day.closed / count_top, 1),
                bar_width=bar_width,
                point_x=round(x + slot / 2, 1),
                point_y=amount_y(day.at_risk),
            )
        )
    fractions = (0, 0.25, 0.5, 0.75, 1)
    return TrendChart(
        currency=trend.currency,
        width=WIDTH,
        height=HEIGHT,
        columns=columns,
        # Whole numbers of cases only.
        count_gridlines=[
            (round(TOP + plot_height * (1 - f), 1), int(count_top * f))
            for f in fractions
            if float(count_top * f).is_integer()
        ],
        amount_gridlines=[
            (round(TOP + plot_height * (1 - f), 1), amount_top * Decimal(str(f))) for f in fractions
        ],
        points=" ".join(f"{c.point_x},{c.point_y}" for c in columns),
        axis_y=HEIGHT - BOTTOM,
        right_x=WIDTH - RIGHT,
        colours={"opened": OPENED_COLOUR, "closed": CLOSED_COLOUR, "atRisk": AT_RISK_COLOUR},
    )
