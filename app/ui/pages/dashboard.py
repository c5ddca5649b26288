"""Dashboard: today's and this month's sales, what needs attention, low stock,
a 30-day revenue chart and the state of each channel's queue."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from babel.numbers import get_currency_symbol
from PySide6.QtCharts import (
    QAreaSeries,
    QChart,
    QChartView,
    QDateTimeAxis,
    QLineSeries,
    QValueAxis,
)
from PySide6.QtCore import QDateTime, QMargins, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.changes import Changes
from app.core.money import from_minor
from app.core.queries.dashboard import ChannelSync, Dashboard, dashboard
from app.core.returns import ReturnFigures, return_figures
from app.ui.pages.base import Page
from app.ui.widgets import Card, DetailTable, heading

#: The returns panel covers RMAs authorized in this many days up to now.
RETURNS_DAYS = 90

#: A channel whose queue was not emptied for this long reads as offline.
OFFLINE_AFTER = timedelta(minutes=15)

KIND_LABELS = {
    "oversold": "Oversold",
    "held": "Held",
    "failing": "Sync failing",
    "parked": "Sync parked",
}


class DashboardPage(Page):
    key = "dashboard"

    def __init__(self, ctx, parent=None):  # type: ignore[no-untyped-def]
        super().__init__(ctx, parent)
        self.data: Dashboard | None = None
        self.today_card = Card("Today")
        self.month_card = Card("This month")
        self.attention_card = Card("Needs attention")
        self.low_card = Card("Low stock")
        cards = QHBoxLayout()
        cards.setSpacing(12)
        for card in (self.today_card, self.month_card, self.attention_card):
            cards.addWidget(card)
        cards.addWidget(self.low_card)

        self.chart = QChart()
        self.chart.legend().hide()
        self.chart.setMargins(QMargins(4, 4, 4, 4))
        self.chart.setBackgroundRoundness(0)
        self.chart_view = QChartView(self.chart)
        self.chart_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.chart_view.setMinimumHeight(220)
        self.chart_view.setObjectName("panel")
        self.chart.setBackgroundVisible(False)

        self.sync_box = QFrame()
        self.sync_box.setObjectName("panel")
        self.sync_layout = QVBoxLayout(self.sync_box)
        self.sync_layout.setContentsMargins(14, 10, 14, 10)

        self.returns_box = QFrame()
        self.returns_box.setObjectName("panel")
        self.returns_layout = QGridLayout(self.returns_box)
        self.returns_layout.setContentsMargins(14, 10, 14, 10)
        self.returns_layout.setVerticalSpacing(2)
        self.returns: ReturnFigures | None = None
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.setSpacing(6)
        side_layout.addWidget(self.sync_box, 1)
        side_layout.addWidget(heading(f"Returns, last {RETURNS_DAYS} days"))
        side_layout.addWidget(self.returns_box)

        self.exceptions = DetailTable(
            ["Issue", "Record", "What to do"],
            stretch=2,
            empty="Nothing needs attention.",
        )
        self.exceptions.itemDoubleClicked.connect(self._open_exception)
        self.low_stock = DetailTable(
            ["SKU", "Product", "Available", "Reorder at"],
            right=(2, 3),
            stretch=1,
            empty="Every SKU is above its reorder point.",
        )
        self.low_stock.itemDoubleClicked.connect(self._open_sku)

        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(6)
        grid.addWidget(heading("Revenue, last 30 days"), 0, 0)
        grid.addWidget(heading("Channel sync"), 0, 1)
        grid.addWidget(self.chart_view, 1, 0)
        grid.addWidget(side, 1, 1)
        grid.addWidget(heading("Exception queue"), 2, 0)
        self.low_heading = heading("Low stock")
        grid.addWidget(self.low_heading, 2, 1)
        grid.addWidget(self.exceptions, 3, 0)
        grid.addWidget(self.low_stock, 3, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        grid.setRowStretch(3, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(14)
        self.greeting = heading("", "pageTitle")
        layout.addWidget(self.greeting)
        layout.addLayout(cards)
        layout.addLayout(grid, 1)

    # --- loading ----------------------------------------------------------

    def refresh(self) -> None:
        self.ctx.ops.read(dashboard, self.show_data, label="Loading the dashboard")
        since = datetime.now(UTC) - timedelta(days=RETURNS_DAYS)
        self.ctx.ops.read(
            lambda s: return_figures(s, date_from=since),
            self.show_returns,
            label="Loading return figures",
        )

    def on_changes(self, changes: Changes, visible: bool) -> None:
        # Every write can move sales, stock or the queue, so any change counts.
        super().on_changes(changes, visible)

    def show_data(self, data: Dashboard) -> None:
        self.data = data
        fmt = self.ctx.fmt
        who = f", {self.ctx.user.name}" if self.ctx.user else ""
        self.greeting.setText(f"Good day{who}: {fmt.long_date(data.today)}")
        self.today_card.set(
            fmt.money(data.today_sales.revenue),
            f"{fmt.number(data.today_sales.orders)} orders today",
        )
        self.month_card.set(
            fmt.money(data.month_sales.revenue),
            f"{fmt.number(data.month_sales.orders)} orders since the 1st",
        )
        oversold = sum(1 for e in data.exceptions if e.kind == "oversold")
        held = sum(1 for e in data.exceptions if e.kind == "held")
        sync = len(data.exceptions) - oversold - held
        self.attention_card.set(
            fmt.number(len(data.exceptions)),
            f"{oversold} oversold, {held} held, {sync} sync problems",
        )
        self.low_card.set(
            fmt.number(data.low_stock_total), "SKUs at or below their reorder point"
        )
        self._fill_exceptions(data)
        self._fill_low_stock(data)
        self._fill_sync(data.sync)
        self._draw_chart(data)

    def duration(self, span: timedelta | None) -> str:
        """Show a processing time in days, or hours when under a day."""
        if span is None:
            return "–"
        seconds = Decimal(int(span.total_seconds()))
        if seconds < 86400:
            return f"{self.ctx.fmt.number(round(seconds / 3600, 1))} h"
        return f"{self.ctx.fmt.number(round(seconds / 86400, 1))} days"

    def show_returns(self, figures: ReturnFigures) -> None:
        self.returns = figures
        grid = self.returns_layout
        while grid.count():
            item = grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()

        timing = figures.processing
        fmt = self.ctx.fmt
        if timing.returns:
            text = (
                f"Authorization to refund: median "
                f"<b>{self.duration(timing.median)}</b>, 90% within "
                f"<b>{self.duration(timing.p90)}</b> "
                f"({fmt.number(timing.returns)} refunded)"
            )
        else:
            text = "No return was refunded in this time."
        summary = QLabel(text)
        summary.setWordWrap(True)
        grid.addWidget(summary, 0, 0, 1, 3)

        if not figures.reasons:
            grid.addWidget(QLabel("No returns authorized."), 1, 0, 1, 3)
            return

        for column, title in enumerate(("Reason", "Returns", "Units")):
            label = QLabel(title)
            label.setObjectName("hint")
            if column:
                label.setAlignment(Qt.AlignmentFlag.AlignRight)
            grid.addWidget(label, 1, column)
        top = sorted(figures.reasons, key=lambda r: (-r.returns, -r.units, r.reason))
        for row, reason in enumerate(top[:5], start=2):
            grid.addWidget(QLabel(reason.reason.replace("_", " ").capitalize()), row, 0)
            for column, value in ((1, reason.returns), (2, reason.units)):
                label = QLabel(fmt.number(value))
                label.setAlignment(Qt.AlignmentFlag.AlignRight)
                grid.addWidget(label, row, column)
        grid.setColumnStretch(0, 1)

    def _fill_exceptions(self, data: Dashboard) -> None:
        self.exceptions.fill(
            [
                [KIND_LABELS.get(e.kind, e.kind), e.title, e.detail]
                for e in data.exceptions
            ],
            ids=[e.order_id for e in data.exceptions],
        )
        for row, item in enumerate(data.exceptions):
            cell = self.exceptions.item(row, 0)
            if cell is not None:
                color = "#b3261e" if item.kind in ("oversold", "parked") else "#9a6700"
                cell.setForeground(QColor(color))

    def _fill_low_stock(self, data: Dashboard) -> None:
        fmt = self.ctx.fmt
        shown = len(data.low_stock)
        more = (
            f" (first {shown} of {data.low_stock_total})"
            if shown < data.low_stock_total
            else ""
        )
        self.low_heading.setText(f"Low stock{more}")
        self.low_stock.fill(
            [
                [
                    r.sku,
                    r.title,
                    fmt.number(r.available),
                    fmt.number(r.reorder_point or 0),
                ]
                for r in data.low_stock
            ],
            ids=[r.id for r in data.low_stock],
        )

    def _fill_sync(self, channels: list[ChannelSync]) -> None:
        while self.sync_layout.count():
            item = self.sync_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        if not channels:
            self.sync_layout.addWidget(
                QLabel("No channel is connected. Connect one on the Channels page.")
            )
        now = datetime.now(UTC)
        for channel in channels:
            kind = f"<span style='color:#667'>({channel.kind})</span>"
            name = QLabel(f"<b>{channel.name}</b> {kind}")
            stale = (
                channel.last_sent_at is None
                or now - channel.last_sent_at > OFFLINE_AFTER
            )
            if channel.waiting == 0:
                text, color = "up to date", "#1e7b34"
            elif stale:
                text, color = f"offline, {channel.waiting} changes waiting", "#9a6700"
            else:
                text, color = f"sending, {channel.waiting} changes waiting", "#1d5fa8"
            if channel.failing or channel.parked:
                text += f"; {channel.failing} failing, {channel.parked} parked"
                color = "#b3261e"
            status = QLabel(text)
            status.setStyleSheet(f"color: {color};")
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 4, 0, 4)
            line.addWidget(name)
            line.addStretch(1)
            line.addWidget(status)
            self.sync_layout.addWidget(row)
        hint = QLabel("Stock figures are queued on every change and sent when online.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        self.sync_layout.addStretch(1)
        self.sync_layout.addWidget(hint)

    def _draw_chart(self, data: Dashboard) -> None:
        chart = self.chart
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        upper = QLineSeries()
        lower = QLineSeries()
        zone = self.ctx.fmt.zone
        top = 0.0
        for day in data.daily:
            moment = datetime.combine(day.day, time(12), tzinfo=zone)
            x = float(
                QDateTime.fromSecsSinceEpoch(
                    int(moment.timestamp())
                ).toMSecsSinceEpoch()
            )
            # Floats only place points on the chart; figures shown stay exact.
            y = float(from_minor(day.revenue, data.currency))
            top = max(top, y)
            upper.append(x, y)
            lower.append(x, 0.0)
        area = QAreaSeries(upper, lower)
        # QAreaSeries does not own its boundary series; keep them alive.
        self._series = (upper, lower, area)
        area.setColor(QColor("#cfe0f5"))
        area.setBorderColor(QColor("#1d5fa8"))
        area.setPen(QPen(QColor("#1d5fa8"), 2))
        chart.addSeries(area)
        x_axis = QDateTimeAxis()
        x_axis.setFormat("d MMM")
        x_axis.setTickCount(7)
        y_axis = QValueAxis()
        symbol = get_currency_symbol(data.currency, locale=self.ctx.fmt.locale)
        # Qt formats axis labels with printf, which mangles a non-ASCII
        # currency symbol, so the symbol goes in the axis title instead.
        y_axis.setLabelFormat("%.0f")
        y_axis.setTitleText(f"{symbol} per day")
        y_axis.setRange(0, max(10.0, top * 1.15))
        y_axis.applyNiceNumbers()
        y_axis.setTickCount(5)
        chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
        area.attachAxis(x_axis)
        area.attachAxis(y_axis)

    # --- navigation -------------------------------------------------------

    def _open_exception(self, item: QTableWidgetItem) -> None:
        order_id = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(order_id, int):
            self.ctx.navigate("orders", order_id)

    def _open_sku(self, item: QTableWidgetItem) -> None:
        variant_id = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(variant_id, int):
            self.ctx.navigate("products", variant_id)
