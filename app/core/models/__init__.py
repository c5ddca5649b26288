"""All tables. Importing this package registers every model on ``Base``."""

from app.core.models import accounting as accounting  # registers its tables
from app.core.models import fulfillment as fulfillment  # registers its tables
from app.core.models import returns as returns  # registers the returns tables
from app.core.models import sync_ext as sync_ext  # registers the sync tables
from app.core.models.base import Base, utcnow
from app.core.models.catalog import (
    Barcode,
    Bin,
    Product,
    SkuAlias,
    Variant,
    VariantBin,
    Warehouse,
)
from app.core.models.inventory import (
    CostLayer,
    LayerConsumption,
    Reservation,
    StockCount,
    StockCountLine,
    StockLevel,
    StockMove,
)
from app.core.models.ledger import Account, JournalEntry, JournalLine, Period
from app.core.models.sales import (
    Channel,
    Customer,
    DiscountApplication,
    DiscountCode,
    FulfillmentRequest,
    Invoice,
    OrderLine,
    SalesOrder,
    Shipment,
    ShipmentLine,
    TaxLine,
)
from app.core.models.shop import (
    AppMeta,
    AuditEvent,
    Sequence,
    Shop,
    TaxRegistration,
    TaxRule,
    User,
)
from app.core.models.sync import OutboxItem, SyncLogEntry

__all__ = [
    "Account",
    "AppMeta", "AuditEvent", "Barcode", "Base", "Bin", "Channel", "CostLayer",
    "Customer", "DiscountApplication", "DiscountCode", "FulfillmentRequest",
    "Invoice", "JournalEntry", "JournalLine", "LayerConsumption", "OrderLine",
    "OutboxItem", "Period", "Product", "Reservation", "SalesOrder", "Sequence",
    "Shipment", "ShipmentLine", "Shop", "SkuAlias", "StockCount", "StockCountLine",
    "StockLevel", "StockMove", "SyncLogEntry", "TaxLine", "TaxRegistration",
    "TaxRule", "User", "Variant", "VariantBin", "Warehouse", "utcnow",
]  # fmt: skip
