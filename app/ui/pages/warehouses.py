"""Warehouses: stock per warehouse, transfers, capacity and workload, rate
tables, routing rules and weights, carriers, pick lists and the packing
station.

Every change goes through a core service on the write thread; the dialogs
only collect values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from app.core.changes import Changes
from app.core.fulfillment import queries, rates, rules
from app.core.fulfillment.settings import (
    CarrierAccount,
    FulfillmentSettings,
    fulfillment_settings,
    update_fulfillment_settings,
)
from app.core.money import format_minor, parse_price, to_minor
from app.core.queries.settings import channels
from app.core.uow import UnitOfWork
from app.ui.context import AppContext
from app.ui.pages.base import Page
from app.ui.pages.stock_dialogs import Action, FormDialog, TransferDialog
from app.ui.widgets import DetailTable, SearchField, heading

STOCK_LIMIT = 500


@dataclass(frozen=True, slots=True)
class WarehousesData:
    loads: list[queries.WarehouseLoad]
    stock: list[queries.StockRow]
    services: list[queries.ServiceRow]
    zones: list[queries.ZoneRow]
    rates: list[queries.RateRow]
    rules: list[rules.RuleView]
    batches: list[queries.BatchRow]
    settings: FulfillmentSettings


def load_data(text: str) -> Callable[[Session], WarehousesData]:
    def load(session: Session) -> WarehousesData:
        return WarehousesData(
            queries.warehouse_loads(session),
            queries.stock_by_warehouse(session, text, limit=STOCK_LIMIT),
            queries.service_rows(session),
            queries.zone_rows(session),
            queries.rate_rows(session),
            rules.list_rules(session),
            queries.batches(session),
            fulfillment_settings(session),
        )

    return load


def _spin(low: int, high: int, value: int, suffix: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setSuffix(suffix)
    return spin


class ServiceDialog(FormDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(
            ctx,
            "Add shipping service",
            "A carrier service with its own rate table, e.g. Royal Mail / Tracked 48.",
            parent,
        )
        self.carrier = QLineEdit()
        self.service = QLineEdit()
        self.currency = QLineEdit(ctx.shop.currency)
        self.form.addRow("Carrier", self.carrier)
        self.form.addRow("Service", self.service)
        self.form.addRow("Currency of its rates", self.currency)

    def action(self) -> Action:
        carrier, service = self.carrier.text(), self.service.text()
        currency = self.currency.text().strip().upper()

        def run(uow: UnitOfWork) -> Changes:
            rates.add_service(uow, carrier, service, currency)
            return Changes(settings=True)

        return run


class ZoneDialog(FormDialog):
    def __init__(
        self,
        ctx: AppContext,
        services: list[tuple[int, str]],
        warehouses: list[str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            ctx,
            "Add zone rule",
            "Rules are tried in order; the first that matches names the zone. "
            "Leave a field empty to match anything.",
            parent,
        )
        self.service = QComboBox()
        for service_id, label in services:
            self.service.addItem(label, service_id)
        self.zone = QLineEdit()
        self.warehouse = QComboBox()
        self.warehouse.addItem("any warehouse", None)
        for code in warehouses:
            self.warehouse.addItem(code, code)
        self.scope = QComboBox()
        self.scope.addItems(list(rates.SCOPES))
        self.countries = QLineEdit()
        self.countries.setPlaceholderText("e.g. GB IE (empty: any)")
        self.distance = _spin(0, 40_000, 0, " km")
        self.distance.setSpecialValueText("any distance")
        for label, widget in (
            ("Service", self.service),
            ("Zone", self.zone),
            ("From warehouse", self.warehouse),
            ("Scope", self.scope),
            ("Countries", self.countries),
            ("Up to", self.distance),
        ):
            self.form.addRow(label, widget)

    def action(self) -> Action:
        service_id = self.service.currentData()
        zone, warehouse = self.zone.text(), self.warehouse.currentData()
        scope, countries = self.scope.currentText(), self.countries.text().strip()
        distance = self.distance.value() or None

        def run(uow: UnitOfWork) -> Changes:
            rates.add_zone_rule(
                uow,
                service_id,
                zone,
                warehouse=warehouse,
                scope=scope,
                countries=countries or None,
                max_distance_km=distance,
            )
            return Changes(settings=True)

        return run


class RateDialog(FormDialog):
    def __init__(
        self,
        ctx: AppContext,
        services: list[tuple[int, str, str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            ctx,
            "Set rate",
            "The price of a parcel up to the weight limit in one zone; the same "
            "limit again replaces the old price.",
            parent,
        )
        self.service = QComboBox()
        self.currencies: dict[int, str] = {}
        for service_id, label, currency in services:
            self.service.addItem(f"{label} ({currency})", service_id)
            self.currencies[service_id] = currency
        self.zone = QLineEdit()
        self.weight = _spin(1, 1_000_000, 1000, " g")
        self.price = QLineEdit()
        self.price.setPlaceholderText("e.g. 3.95")
        self.form.addRow("Service", self.service)
        self.form.addRow("Zone", self.zone)
        self.form.addRow("Up to", self.weight)
        self.form.addRow("Price", self.price)

    def action(self) -> Action:
        service_id = self.service.currentData()
        currency = self.currencies[service_id]
        cost = to_minor(parse_price(self.price.text(), "price"), currency)
        zone, weight = self.zone.text(), self.weight.value()

        def run(uow: UnitOfWork) -> Changes:
            rates.set_rate(uow, service_id, zone, weight, cost)
            return Changes(settings=True)

        return run


class RuleDialog(FormDialog):
    def __init__(
        self,
        ctx: AppContext,
        warehouses: list[str],
        channels: list[str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            ctx,
            "Add routing rule",
            "priority: lower rank wins among warehouses that can ship the whole "
            "order. only: the channel's orders ship only from this warehouse. "
            "exclude: never route here (for one channel, or for all).",
            parent,
        )
        self.kind = QComboBox()
        self.kind.addItems(list(rules.KINDS))
        self.warehouse = QComboBox()
        self.warehouse.addItems(list(warehouses))
        self.channel = QComboBox()
        self.channel.addItem("all channels", None)
        for name in channels:
            self.channel.addItem(name, name)
        self.rank = _spin(1, 99, 1)
        self.form.addRow("Kind", self.kind)
        self.form.addRow("Warehouse", self.warehouse)
        self.form.addRow("Channel", self.channel)
        self.form.addRow("Rank", self.rank)

    def action(self) -> Action:
        kind, warehouse = self.kind.currentText(), self.warehouse.currentText()
        channel, rank = self.channel.currentData(), self.rank.value()

        def run(uow: UnitOfWork) -> Changes:
            rules.add_rule(
                uow,
                kind,
                warehouse,
                channel=channel,
                rank=rank if kind == "priority" else None,
            )
            return Changes(settings=True)

        return run


class CarrierDialog(FormDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(
            ctx,
            "Add carrier",
            "EasyPost buys labels through its API; the API key is kept in the "
            "system keyring, not in the shop file. An own-account carrier asks "
            "the packer for the tracking number of a label printed elsewhere.",
            parent,
        )
        self.name = QLineEdit()
        self.kind = QComboBox()
        self.kind.addItems(["own_account", "easypost"])
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.tracking_url = QLineEdit()
        self.tracking_url.setPlaceholderText("https://…/{tracking_number}")
        self.form.addRow("Name", self.name)
        self.form.addRow("Kind", self.kind)
        self.form.addRow("API key", self.api_key)
        self.form.addRow("Tracking page", self.tracking_url)

    def action(self) -> Action:
        account = CarrierAccount(
            self.name.text().strip(),
            kind=self.kind.currentText(),
            tracking_url_template=self.tracking_url.text().strip(),
        )
        key = self.api_key.text().strip()

        def run(uow: UnitOfWork) -> Changes:
            if key:
                # Loaded on use: keyring and requests cost start-up time.
                from app.sync.labels import store_carrier_api_key

                store_carrier_api_key(account.name, key)
            current = fulfillment_settings(uow.session)
            others = [
                c
                for c in current.carriers
                if c.name.casefold() != account.name.casefold()
            ]
            update_fulfillment_settings(uow, carriers=[*others, account])
            return Changes(settings=True)

        return run


class WarehousesPage(Page):
    key = "warehouses"

    def __init__(self, ctx, parent=None):  # type: ignore[no-untyped-def]
        super().__init__(ctx, parent)
        self.data: WarehousesData | None = None
        self.search_text = ""
        self.loads = DetailTable(
            [
                "Code",
                "Name",
                "Place",
                "Orders per day",
                "Open picks",
                "Load",
                "SKUs",
                "On hand",
                "Reserved",
            ],
            right=(3, 4, 5, 6, 7, 8),
        )
        self.batch_table = DetailTable(
            ["Pick list", "Warehouse", "Orders", "Created"],
            empty="No open pick lists. Use Print pick list… to start one.",
        )
        self.search = SearchField("Find SKU or title")
        self.search.search.connect(self._search)
        self.stock = DetailTable(
            ["SKU", "Title"],
            empty="No SKUs to show. Add products on the Products page, or clear "
            "the search.",
        )
        self.zones = DetailTable(
            ["Service", "Zone", "From", "Scope", "Countries", "Up to km"],
            right=(5,),
            empty="No zone rules yet. Use Add zone rule… to say which zone a "
            "parcel ships in.",
        )
        self.bands = DetailTable(
            ["Service", "Zone", "Up to", "Price"],
            right=(2, 3),
            empty="No weight bands yet. Use Set rate… or Import CSV… to add prices.",
        )
        self.rule_table = DetailTable(
            ["Id", "Rule"],
            empty="No routing rules, so the routing score alone picks each "
            "order's warehouse. Use Add rule… to add one.",
        )
        self.carriers = DetailTable(
            ["Carrier", "Kind", "Tracking page"],
            empty="No carriers yet. Use Add carrier… to add one.",
        )
        self.tabs = QTabWidget()
        self.tabs.addTab(self._overview_tab(), "Warehouses")
        self.tabs.addTab(self._stock_tab(), "Stock")
        self.tabs.addTab(self._rates_tab(), "Rate tables")
        self.tabs.addTab(self._rules_tab(), "Routing")
        self.tabs.addTab(self._carriers_tab(), "Carriers")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(heading("Warehouses", "pageTitle"))
        layout.addWidget(self.tabs, 1)

    # --- tabs -----------------------------------------------------------------

    def _bar(self, *buttons: tuple[str, Callable[[], None]]) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.addStretch(1)
        for text, slot in buttons:
            button = QPushButton(text)
            button.clicked.connect(slot)
            bar.addWidget(button)
        return bar

    def _tab(self, *parts: QWidget | QHBoxLayout | QFormLayout) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        for part in parts:
            if isinstance(part, QWidget):
                layout.addWidget(part, 1 if isinstance(part, DetailTable) else 0)
            else:
                layout.addLayout(part)
        return tab

    def _overview_tab(self) -> QWidget:
        return self._tab(
            self._bar(
                ("Print pick list…", self.print_pick_list),
                ("Packing station (F9)", self.open_station),
            ),
            self.loads,
            heading("Open pick lists"),
            self.batch_table,
        )

    def _stock_tab(self) -> QWidget:
        bar = self._bar(("Transfer…", self.transfer))
        bar.insertWidget(0, self.search)
        return self._tab(bar, self.stock)

    def _rates_tab(self) -> QWidget:
        return self._tab(
            self._bar(
                ("Add service…", self.add_service),
                ("Add zone rule…", self.add_zone),
                ("Set rate…", self.add_rate),
                ("Import CSV…", self.import_rates),
            ),
            heading("Zones"),
            self.zones,
            heading("Weight bands"),
            self.bands,
        )

    def _rules_tab(self) -> QWidget:
        self.weight_spins = {
            name: QDoubleSpinBox() for name in ("distance", "stock", "cost", "workload")
        }
        form = QFormLayout()
        for name, spin in self.weight_spins.items():
            spin.setRange(0, 100)
            spin.setDecimals(1)
            form.addRow(f"Weight of {name}", spin)
        self.half_km = _spin(1, 20_000, 500, " km")
        form.addRow("Distance score halves at", self.half_km)
        save = QPushButton("Save weights")
        save.clicked.connect(self.save_weights)
        form.addRow("", save)
        return self._tab(
            form,
            self._bar(("Add rule…", self.add_rule), ("Remove rule", self.remove_rule)),
            self.rule_table,
        )

    def _carriers_tab(self) -> QWidget:
        self.default_carrier = QComboBox()
        self.label_format = QComboBox()
        self.label_format.addItems(["pdf", "zpl"])
        self.packaging = _spin(0, 100_000, 0, " g")
        self.tolerance = _spin(0, 100_000, 50, " g")
        self.fx = QLineEdit()
        self.fx.setPlaceholderText("e.g. USD=0.79 EUR=0.86")
        self.signer = QLineEdit()
        form = QFormLayout()
        form.addRow("Default carrier", self.default_carrier)
        form.addRow("Label format", self.label_format)
        form.addRow("Packaging weight", self.packaging)
        form.addRow("Weight tolerance", self.tolerance)
        form.addRow("Exchange rates for label costs", self.fx)
        form.addRow("Customs declarations signed by", self.signer)
        save = QPushButton("Save packing settings")
        save.clicked.connect(self.save_packing)
        form.addRow("", save)
        return self._tab(
            self._bar(("Add carrier…", self.add_carrier)), self.carriers, form
        )

    # --- loading ----------------------------------------------------------------

    def refresh(self) -> None:
        self.ctx.ops.read(
            load_data(self.search_text), self.show_data, label="Loading warehouses"
        )

    def on_changes(self, changes: Changes, visible: bool) -> None:
        if changes.settings or changes.stock or changes.orders:
            super().on_changes(changes, visible)

    def focus_search(self) -> None:
        self.tabs.setCurrentIndex(1)
        self.search.setFocus()

    def _search(self, text: str) -> None:
        self.search_text = text
        self.refresh()

    def show_data(self, data: WarehousesData) -> None:
        fmt = self.ctx.fmt
        self.data = data
        self.loads.fill(
            [
                [
                    w.code,
                    w.name + ("" if w.active else " (inactive)"),
                    ", ".join(p for p in (w.city, w.country) if p),
                    fmt.number(w.capacity) if w.capacity else "no limit",
                    fmt.number(w.open_picks),
                    f"{w.load_percent} %" if w.load_percent is not None else "",
                    fmt.number(w.skus),
                    fmt.number(w.on_hand),
                    fmt.number(w.reserved),
                ]
                for w in data.loads
            ]
        )
        self.batch_table.fill(
            [
                [b.ref, b.warehouse, str(b.orders), fmt.datetime(b.created_at)]
                for b in data.batches
            ]
        )
        codes = [w.code for w in data.loads if not w.quarantine or w.on_hand]
        self.stock.setColumnCount(2 + len(codes))
        self.stock.setHorizontalHeaderLabels(["SKU", "Title", *codes])
        self.stock.fill(
            [
                [
                    row.sku,
                    row.title,
                    *[
                        f"{row.on_hand.get(c, 0)}"
                        + (
                            f" ({row.reserved[c]} reserved)"
                            if row.reserved.get(c)
                            else ""
                        )
                        for c in codes
                    ],
                ]
                for row in data.stock
            ]
        )
        self.zones.fill(
            [
                [
                    z.label,
                    z.zone,
                    z.warehouse or "any",
                    z.scope,
                    z.countries or "any",
                    str(z.max_distance_km) if z.max_distance_km else "any",
                ]
                for z in data.zones
            ]
        )
        self.bands.fill(
            [
                [
                    f"{r.carrier} / {r.service}",
                    r.zone,
                    f"{r.max_weight_g} g",
                    f"{format_minor(r.cost_minor, r.currency)} {r.currency}",
                ]
                for r in data.rates
            ]
        )
        self.rule_table.fill([[str(r.id), r.text] for r in data.rules])
        settings = data.settings
        for name, spin in self.weight_spins.items():
            spin.setValue(getattr(settings.weights, name))
        self.half_km.setValue(settings.distance_half_km)
        self.carriers.fill(
            [[c.name, c.kind, c.tracking_url_template] for c in settings.carriers]
        )
        self.default_carrier.clear()
        self.default_carrier.addItem("first carrier", "")
        for carrier in settings.carriers:
            self.default_carrier.addItem(carrier.name, carrier.name)
        index = self.default_carrier.findData(settings.default_carrier)
        self.default_carrier.setCurrentIndex(max(index, 0))
        self.label_format.setCurrentText(settings.label_format)
        self.packaging.setValue(settings.packaging_weight_g)
        self.tolerance.setValue(settings.weight_tolerance_g)
        self.fx.setText(" ".join(f"{k}={v}" for k, v in settings.fx_rates.items()))
        self.signer.setText(settings.customs_signer)

    # --- actions ----------------------------------------------------------------

    def _write(self, action: Callable[[UnitOfWork], object], label: str) -> None:
        self.ctx.ops.write(action, label=label, parent=self)

    def _dialog(self, dialog: FormDialog, label: str) -> None:
        dialog.accepted.connect(lambda: self._write(dialog.prepared, label))
        dialog.open()

    def _selected_warehouse(self) -> str | None:
        if self.data is None or not self.data.loads:
            return None
        row = max(self.loads.currentRow(), 0)
        return self.data.loads[row].code

    def print_pick_list(self) -> None:
        code = self._selected_warehouse()
        path, _ = QFileDialog.getSaveFileName(
            self, "Save pick list", f"pick-list-{code}.pdf", "PDF (*.pdf)"
        )
        if not path:
            return

        def run(uow: UnitOfWork) -> Changes:
            from app.core.fulfillment import batches

            result = batches.create_pick_batch(uow, code)
            with open(path, "wb") as handle:
                handle.write(batches.pick_list_pdf(uow.session, result.batch_id))
            return Changes(orders=set(result.order_ids))

        self._write(run, "Printing the pick list")

    def open_station(self) -> None:
        from app.ui.packing import open_packing_station  # loaded on use

        self.station = open_packing_station(self.ctx, self.window())

    def transfer(self) -> None:
        row = self.stock.currentRow()
        if self.data is None or not 0 <= row < len(self.data.stock):
            return
        self._dialog(
            TransferDialog(self.ctx, self.data.stock[row].sku, self), "Transferring"
        )

    def _services(self) -> list[tuple[int, str, str]]:
        """Return every active service, new ones with no zones or rates too."""
        services = self.data.services if self.data else []
        return [(s.id, s.label, s.currency) for s in services]

    def add_service(self) -> None:
        self._dialog(ServiceDialog(self.ctx, self), "Adding the service")

    def add_zone(self) -> None:
        services = [(s, label) for s, label, _c in self._services()]
        codes = [w.code for w in self.data.loads] if self.data else []
        self._dialog(
            ZoneDialog(self.ctx, services, codes, self), "Adding the zone rule"
        )

    def add_rate(self) -> None:
        services = [
            (s, label, currency or self.ctx.shop.currency)
            for s, label, currency in self._services()
        ]
        self._dialog(RateDialog(self.ctx, services, self), "Saving the rate")

    def import_rates(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import weight bands", "", "CSV (*.csv)"
        )
        if not path:
            return
        self._write(lambda uow: rates.import_rates_csv(uow, Path(path)), "Importing")

    def add_rule(self) -> None:
        codes = [w.code for w in self.data.loads] if self.data else []
        names = [c.name for c in self.ctx.read_now(channels)]
        self._dialog(RuleDialog(self.ctx, codes, names, self), "Adding the rule")

    def remove_rule(self) -> None:
        row = self.rule_table.currentRow()
        if self.data is None or not 0 <= row < len(self.data.rules):
            return
        rule_id = self.data.rules[row].id

        def run(uow: UnitOfWork) -> Changes:
            rules.remove_rule(uow, rule_id)
            return Changes(settings=True)

        self._write(run, "Removing the rule")

    def save_weights(self) -> None:
        weights = {name: spin.value() for name, spin in self.weight_spins.items()}
        half = self.half_km.value()

        def run(uow: UnitOfWork) -> Changes:
            update_fulfillment_settings(uow, weights=weights, distance_half_km=half)
            return Changes(settings=True)

        self._write(run, "Saving the routing weights")

    def add_carrier(self) -> None:
        self._dialog(CarrierDialog(self.ctx, self), "Saving the carrier")

    def save_packing(self) -> None:
        fx: dict[str, str] = {}
        for pair in self.fx.text().split():
            code, _, value = pair.partition("=")
            fx[code.upper()] = value
        changes = {
            "default_carrier": self.default_carrier.currentData() or "",
            "label_format": self.label_format.currentText(),
            "packaging_weight_g": self.packaging.value(),
            "weight_tolerance_g": self.tolerance.value(),
            "fx_rates": fx,
            "customs_signer": self.signer.text().strip(),
        }

        def run(uow: UnitOfWork) -> Changes:
            update_fulfillment_settings(uow, **changes)
            return Changes(settings=True)

        self._write(run, "Saving the packing settings")
