"""Stock moves, FIFO cost layers and their postings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.core import catalog, inventory
from app.core.exceptions import InsufficientStock, InvalidTransition, ValidationError
from app.core.models import CostLayer, StockLevel, StockMove
from app.core.uow import UnitOfWork
from tests.helpers import account_nets, add_sku, violations


def _level(engine, sku: str, warehouse: str = "MAIN") -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with UnitOfWork(engine, write=False) as uow:
        variant = catalog.get_variant(uow.session, sku)
        wh = catalog.get_warehouse(uow.session, warehouse)
        row = uow.session.get(StockLevel, (variant.id, wh.id))
        return (row.on_hand, row.reserved) if row else (0, 0)


def _second_warehouse(engine) -> None:  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        catalog.create_warehouse(uow, "EAST", "East depot", "GB")
        uow.commit()


def test_purchase_receipt_posts_inventory_and_payable(shop):  # type: ignore[no-untyped-def]
    add_sku(shop, "MUG", 10, 250)
    assert account_nets(shop) == {"1200": 2500, "2000": -2500}
    assert _level(shop, "mug") == (10, 0)


def test_opening_count_credits_opening_balances(shop):  # type: ignore[no-untyped-def]
    add_sku(shop, "MUG")
    with UnitOfWork(shop) as uow:
        inventory.receive(uow, "MUG", "MAIN", 4, Decimal("125.5"), kind="opening")
        uow.commit()
    # 4 x 125.5 = 502 minor units.
    assert account_nets(shop) == {"1200": 502, "3100": -502}


def test_fifo_takes_oldest_layer_first(shop):  # type: ignore[no-untyped-def]
    add_sku(shop, "MUG", 3, 100)
    add_sku(shop, "MUG", 3, 200)
    with UnitOfWork(shop) as uow:
        inventory.adjust(uow, "MUG", "MAIN", -4, "damaged", note="dropped box")
        uow.commit()
    # 3 at 100 and 1 at 200 written off: 500; 2 x 200 remain.
    nets = account_nets(shop)
    assert nets["5100"] == 500
    assert nets["1200"] == 400
    assert violations(shop) == []


def test_partial_layer_keeps_every_cent(shop):  # type: ignore[no-untyped-def]
    add_sku(shop, "PEG")
    with UnitOfWork(shop) as uow:
        inventory.receive(uow, "PEG", "MAIN", 3, Decimal("33.3333"))  # 100 in all
        uow.commit()
    for _ in range(3):
        with UnitOfWork(shop) as uow:
            inventory.adjust(uow, "PEG", "MAIN", -1, "lost")
            uow.commit()
    # 33, 33, then the last unit takes the remaining 34.
    assert account_nets(shop)["5100"] == 100
    assert "1200" not in account_nets(shop)


def test_write_off_beyond_available_rejected(shop):  # type: ignore[no-untyped-def]
    add_sku(shop, "MUG", 2, 100)
    with (
        pytest.raises(InsufficientStock, match="3 requested but only 2"),
        UnitOfWork(shop) as uow,
    ):
        inventory.adjust(uow, "MUG", "MAIN", -3, "write_off")
    assert _level(shop, "MUG") == (2, 0)


def test_adjust_needs_known_reason(shop):  # type: ignore[no-untyped-def]
    add_sku(shop, "MUG", 2, 100)
    with pytest.raises(ValidationError, match="reason"), UnitOfWork(shop) as uow:
        inventory.adjust(uow, "MUG", "MAIN", -1, "because")


def test_found_units_valued_at_last_cost(shop):  # type: ignore[no-untyped-def]
    add_sku(shop, "MUG", 2, 150)
    with UnitOfWork(shop) as uow:
        inventory.adjust(uow, "MUG", "MAIN", 2, "found")
        uow.commit()
    assert account_nets(shop)["5100"] == -300
    assert account_nets(shop)["1200"] == 600


def test_transfer_moves_layers_without_posting(shop):  # type: ignore[no-untyped-def]
    _second_warehouse(shop)
    add_sku(shop, "MUG", 5, 100)
    before = account_nets(shop)
    with UnitOfWork(shop) as uow:
        inventory.transfer(uow, "MUG", "MAIN", "EAST", 3)
        uow.commit()
    assert account_nets(shop) == before
    assert _level(shop, "MUG", "MAIN") == (2, 0)
    assert _level(shop, "MUG", "EAST") == (3, 0)
    with UnitOfWork(shop, write=False) as uow:
        east = catalog.get_warehouse(uow.session, "EAST")
        layers = uow.session.scalars(
            select(CostLayer).where(CostLayer.warehouse_id == east.id)
        ).all()
    assert [(layer.quantity_remaining, layer.value_remaining) for layer in layers] == [
        (3, 300)
    ]
    assert violations(shop) == []


def test_transfer_to_same_warehouse_rejected(shop):  # type: ignore[no-untyped-def]
    add_sku(shop, "MUG", 5, 100)
    with pytest.raises(ValidationError, match="two different"), UnitOfWork(shop) as uow:
        inventory.transfer(uow, "MUG", "MAIN", "MAIN", 1)


def test_stock_count_posts_differences(shop):  # type: ignore[no-untyped-def]
    add_sku(shop, "MUG", 5, 100)
    add_sku(shop, "TEA", 2, 300)
    with UnitOfWork(shop) as uow:
        count_id = inventory.start_count(uow, "MAIN")
        inventory.record_count(uow, count_id, "MUG", 3)
        inventory.record_count(uow, count_id, "TEA", 4)
        uow.commit()
    with UnitOfWork(shop) as uow:
        inventory.post_count(uow, count_id)
        uow.commit()
    assert _level(shop, "MUG") == (3, 0)
    assert _level(shop, "TEA") == (4, 0)
    # MUG -2 at 100 = 200 shrinkage; TEA +2 at last cost 300 = 600 found.
    assert account_nets(shop)["5100"] == 200 - 600
    with pytest.raises(InvalidTransition, match="not open"), UnitOfWork(shop) as uow:
        inventory.post_count(uow, count_id)


def test_on_hand_equals_sum_of_moves(shop):  # type: ignore[no-untyped-def]
    add_sku(shop, "MUG", 5, 100)
    with UnitOfWork(shop) as uow:
        inventory.adjust(uow, "MUG", "MAIN", -2, "lost")
        uow.commit()
    with UnitOfWork(shop, write=False) as uow:
        moves = uow.session.scalars(select(StockMove.quantity)).all()
    assert sum(moves) == _level(shop, "MUG")[0] == 3
