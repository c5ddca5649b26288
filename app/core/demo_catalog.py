"""The demo shop's catalogue, customers and addresses, as plain data.

Everything here is invented for the demo: product lines of a small homeware
shop, with HS codes of the customs tariff chapters such goods fall in.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class ProductLine:
    """A kind of product; ``price`` is the retail price including VAT (GBP),
    ``cost`` the usual purchase cost in pence, ``weight_g`` per unit."""

    noun: str
    prefix: str
    hs_code: str
    weight_g: int
    price: Decimal
    cost: int
    options: tuple[str, ...]
    popularity: int


LINES: tuple[ProductLine, ...] = (
    ProductLine("stoneware mug", "MUG", "6912.00", 340, Decimal("14.00"), 520,
                ("Sage", "Slate", "Oat", "Rust"), 9),
    ProductLine("linen tea towel", "TWL", "6302.60", 90, Decimal("12.00"), 380,
                ("Natural", "Indigo", "Stripe"), 7),
    ProductLine("beeswax candle", "CDL", "3406.00", 260, Decimal("18.00"), 610,
                ("Small", "Medium", "Large"), 8),
    ProductLine("wool cushion cover", "CSH", "6304.92", 310, Decimal("32.00"), 1150,
                ("Mustard", "Forest", "Charcoal", "Blush"), 4),
    ProductLine("plant pot", "POT", "6912.00", 720, Decimal("22.00"), 760,
                ("Small", "Medium", "Large"), 5),
    ProductLine("recycled notebook", "NBK", "4820.10", 210, Decimal("9.50"), 280,
                ("A5 lined", "A5 plain", "A6 dotted"), 6),
    ProductLine("olive oil soap", "SOP", "3401.11", 120, Decimal("6.50"), 190,
                ("Lavender", "Unscented", "Rosemary"), 8),
    ProductLine("seagrass basket", "BSK", "4602.19", 640, Decimal("28.00"), 980,
                ("Small", "Large"), 3),
    ProductLine("lambswool throw", "THR", "6301.20", 980, Decimal("68.00"), 2650,
                ("Oatmeal", "Heather", "Navy"), 2),
    ProductLine("art print", "PRT", "4911.91", 150, Decimal("24.00"), 610,
                ("A4", "A3"), 4),
    ProductLine("enamel jug", "JUG", "7323.94", 410, Decimal("26.00"), 890,
                ("White", "Blue rim"), 3),
    ProductLine("oak serving board", "BRD", "4419.19", 850, Decimal("38.00"), 1320,
                ("Round", "Paddle"), 3),
)  # fmt: skip

STYLES: tuple[str, ...] = (
    "Harbour", "Meadow", "Ember", "Fjord", "Thistle", "Larch", "Cove",
    "Bramble", "Heath", "Tarn", "Willow", "Quarry",
)  # fmt: skip

FIRST_NAMES: tuple[str, ...] = (
    "Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Freya", "Arthur",
    "Ivy", "Leo", "Florence", "Oscar", "Rosie", "Harry", "Evie", "Jack",
    "Maya", "Theo", "Poppy", "Finn", "Aisha", "Ravi", "Siobhan", "Callum",
    "Niamh", "Tomasz", "Zofia", "Kwame", "Mei", "Hamza",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans",
    "Thomas", "Roberts", "Walker", "Wright", "Hughes", "Patel", "Khan",
    "Murphy", "Kowalski", "Okafor", "Chen", "Campbell", "Morgan", "Price",
    "Lewis", "Begum", "Fraser",
)  # fmt: skip

#: City, postcode and a street used for demo addresses (all in Great Britain).
PLACES: tuple[tuple[str, str, str], ...] = (
    ("London", "SE15 4QL", "Bellenden Road"),
    ("London", "N16 7XJ", "Stoke Newington Church Street"),
    ("Manchester", "M4 1HN", "Oldham Street"),
    ("Bristol", "BS1 5TR", "Gloucester Road"),
    ("Leeds", "LS6 2AF", "Otley Road"),
    ("Edinburgh", "EH6 6QU", "Leith Walk"),
    ("Glasgow", "G12 8QQ", "Byres Road"),
    ("Cardiff", "CF24 3DG", "Crwys Road"),
    ("Brighton", "BN1 4GH", "North Laine"),
    ("York", "YO1 7LL", "Gillygate"),
    ("Norwich", "NR2 4SQ", "Unthank Road"),
    ("Bath", "BA1 5HR", "Walcot Street"),
)  # fmt: skip

#: Trade buyers of the wholesale channel.
STOCKISTS: tuple[tuple[str, str, str, str], ...] = (
    ("The Drying Room", "Hebden Bridge", "HX7 8AD", "Market Street"),
    ("Kettle & Rye", "Frome", "BA11 1BB", "Catherine Hill"),
    ("North Light Home", "Whitby", "YO22 4DE", "Flowergate"),
    ("Salt Marsh Stores", "Aldeburgh", "IP15 5AU", "High Street"),
    ("Linden Interiors", "Ludlow", "SY8 1AQ", "Broad Street"),
)  # fmt: skip
