"""Build Backroom's default tax tables in WooCommerce's tax-rate CSV layout.

Reads ibericode's ``vat-rates.json`` (EU-27 and GB VAT with history and
postcode exceptions) and the Tax Foundation's state sales tax table as of
2025-01-01 (Facts & Figures 2025, table 18, as CSV and JSON). Writes
``eu_gb_vat_standard.csv``, ``us_state_base.csv`` and ``README.md`` into the
output folder.

    python scripts/build_tax_tables.py [--data-dir DIR] [--out DIR] [--as-of DATE]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import json
import logging
import re
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pycountry

logger = logging.getLogger("build_tax_tables")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data" / "tax"
DEFAULT_OUT_DIR = REPO / "resources" / "tax"

VAT_JSON = "ibericode_vat-rates.json"
US_CSV = "us_state_sales_tax_rates_2025-01-01_taxfoundation.csv"
US_JSON = "taxfoundation_state_local_sales_tax_rates_2025-01-01.json"

# WooCommerce's own sample_tax_rates.csv header.
HEADER = [
    "Country Code",
    "State Code",
    "ZIP/Postcode",
    "City",
    "Rate %",
    "Tax Name",
    "Priority",
    "Compound",
    "Shipping",
    "Tax Class",
]

# The largest number of postcodes one fixed-length pattern may expand to.
MAX_EXPANSION = 100_000


class BuildError(Exception):
    """A source file contains something this script cannot turn into a table."""


# Regular expressions to WooCommerce postcode patterns ------------------------

_ATOM = re.compile(r"\\d|\[([^\]]+)\]|([0-9A-Za-z])")
_QUANTIFIER = re.compile(r"\{(\d+)(,(\d*))?\}")


def _char_class(body: str) -> list[str]:
    chars: list[str] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            chars.extend(chr(c) for c in range(ord(body[i]), ord(body[i + 2]) + 1))
            i += 3
        else:
            chars.append(body[i])
            i += 1
    return chars


def _atoms(alternative: str) -> Iterator[tuple[list[str], int, int | None]]:
    """Yield (characters, minimum, maximum or None for open) per regex atom."""
    position = 0
    while position < len(alternative):
        atom = _ATOM.match(alternative, position)
        if atom is None:
            raise BuildError(f"unsupported postcode regex {alternative!r}")
        if atom.group(0) == r"\d":
            chars = [str(d) for d in range(10)]
        elif atom.group(1) is not None:
            chars = _char_class(atom.group(1))
        else:
            chars = [atom.group(2)]
        position = atom.end()

        low: int = 1
        high: int | None = 1
        quantifier = _QUANTIFIER.match(alternative, position)
        if quantifier is not None:
            low = int(quantifier.group(1))
            high = low
            if quantifier.group(2) is not None:
                high = int(quantifier.group(3)) if quantifier.group(3) else None
            position = quantifier.end()
        yield chars, low, high


def _expand(atoms: list[tuple[list[str], int, int | None]]) -> list[str]:
    """List every string that a sequence of fixed-length atoms matches."""
    choices: list[list[str]] = []
    for chars, low, high in atoms:
        if high is None or high != low:
            raise BuildError("only fixed repetition counts can be expanded")
        choices.extend([chars] * low)
    count = 1
    for chars in choices:
        count *= len(chars)
    if count > MAX_EXPANSION:
        raise BuildError(f"postcode pattern expands to {count} codes")
    return ["".join(combo) for combo in itertools.product(*choices)]


def _compress(codes: list[str]) -> list[str]:
    """Merge runs of consecutive same-length numeric postcodes into A...B."""
    numeric = sorted({c for c in codes if c.isdigit()}, key=lambda c: (len(c), c))
    patterns: list[str] = []
    run: list[str] = []
    for code in numeric:
        if run and len(code) == len(run[-1]) and int(code) == int(run[-1]) + 1:
            run.append(code)
            continue
        if run:
            patterns.append(run[0] if len(run) == 1 else f"{run[0]}...{run[-1]}")
        run = [code]
    if run:
        patterns.append(run[0] if len(run) == 1 else f"{run[0]}...{run[-1]}")
    patterns.extend(sorted({c for c in codes if not c.isdigit()}))
    return patterns


def regex_to_postcodes(regex: str) -> list[str]:
    """Translate one of ibericode's postcode regexes into WooCommerce patterns.

    Handles the subset the file uses: alternation in one outer group, digits,
    ``\\d``, character classes and ``{n}``, ``{n,}``, ``{n,m}`` counts. A
    fixed-length alternative becomes exact codes and numeric ranges. An
    alternative with an open or variable count (``971\\d{2,}``) becomes the
    prefix before that count plus ``*``, which also matches codes shorter than
    the regex requires.
    """
    body = regex.strip()
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1]
    patterns: list[str] = []
    for alternative in body.split("|"):
        atoms = list(_atoms(alternative))
        open_at = next(
            (i for i, (_, low, high) in enumerate(atoms) if high != low), None
        )
        if open_at is None:
            patterns.extend(_compress(_expand(atoms)))
            continue
        prefixes = sorted(set(_expand(atoms[:open_at])))
        if prefixes == [""]:
            raise BuildError(f"postcode regex {regex!r} would match every postcode")
        patterns.extend(f"{prefix}*" for prefix in prefixes)
    return patterns


# EU and GB VAT -----------------------------------------------------------------


def _rate_text(rate: Decimal) -> str:
    return f"{rate:.4f}"


def current_period(
    periods: list[dict[str, object]], as_of: dt.date
) -> dict[str, object]:
    """Return the period with the latest ``effective_from`` not after ``as_of``."""
    usable = [p for p in periods if str(p["effective_from"]) <= as_of.isoformat()]
    if not usable:
        raise BuildError(f"no VAT period in force on {as_of}")
    return max(usable, key=lambda p: str(p["effective_from"]))


def vat_rows(data_dir: Path, as_of: dt.date) -> list[list[str]]:
    """Return one standard-rate row per country plus its postcode exceptions."""
    raw = json.loads(
        (data_dir / VAT_JSON).read_text(encoding="utf-8"), parse_float=Decimal
    )
    rows: list[list[str]] = []
    for country in sorted(raw["items"]):
        period = current_period(raw["items"][country], as_of)
        rates = period["rates"]
        assert isinstance(rates, dict)
        standard = Decimal(rates["standard"])
        rows.append(
            [country, "*", "*", "*", _rate_text(standard), "VAT", "1", "0", "1", ""]
        )

        exceptions = period.get("exceptions") or []
        assert isinstance(exceptions, list)
        for exception in exceptions:
            postcodes = ";".join(regex_to_postcodes(exception["postcode"]))
            rate = Decimal(exception["standard"])
            name = f"VAT ({exception['name']})"
            rows.append(
                [
                    country,
                    "*",
                    postcodes,
                    "*",
                    _rate_text(rate),
                    name,
                    "1",
                    "0",
                    "1",
                    "",
                ]
            )
    return rows


# US state sales tax ------------------------------------------------------------


def _state_codes() -> dict[str, str]:
    """Map US state names to their ISO 3166-2 codes without ``US-``."""
    return {
        str(subdivision.name): str(subdivision.code).removeprefix("US-")
        for subdivision in pycountry.subdivisions
        if subdivision.country_code == "US"
    }


def _percent(text: str) -> Decimal:
    """Parse ``"4.00"``, ``"4.00%"``, ``""`` or ``"--"`` (no state tax) as a rate."""
    value = text.strip().removesuffix("%")
    return Decimal(0) if value in ("", "--") else Decimal(value)


def us_rows(data_dir: Path) -> list[list[str]]:
    """Return one base-rate row per state, checking the CSV against the JSON."""
    codes = _state_codes()
    with (data_dir / US_CSV).open(encoding="utf-8", newline="") as handle:
        from_csv = {
            r["state"].strip(): _percent(r["state_rate_pct"])
            for r in csv.DictReader(handle)
        }

    table = json.loads((data_dir / US_JSON).read_text(encoding="utf-8"))
    from_json = {
        v["state"].strip(): _percent(v["state-tax-rate"])
        for v in table["data"]["values"]
    }
    if from_csv != from_json:
        differing = sorted(
            k
            for k in from_csv.keys() | from_json.keys()
            if from_csv.get(k) != from_json.get(k)
        )
        raise BuildError(f"CSV and JSON state rates differ for {', '.join(differing)}")

    rows: list[list[str]] = []
    for state_name, rate in from_csv.items():
        if state_name not in codes:
            raise BuildError(f"state {state_name!r} has no ISO 3166-2 code")
        code = codes[state_name]
        rows.append(
            [
                "US",
                code,
                "*",
                "*",
                _rate_text(rate),
                f"{code} State Tax",
                "1",
                "0",
                "1",
                "",
            ]
        )
    rows.sort(key=lambda row: row[1])
    return rows


# Output --------------------------------------------------------------------------


def write_table(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)


README = """\
# Default tax tables

Backroom's starting tax rates, in the CSV layout that WooCommerce's
tax-rate importer reads. `app.core.taxtables` reads them with
`load_default_rates()`, and every rate's `source` is its file name. They
are facts derived from the sources below, not copies of them.

Built on {built} by `scripts/build_tax_tables.py`.

- `eu_gb_vat_standard.csv` ({vat_rows} rows): the standard VAT rate of each
  EU-27 country and GB in force on {built}, priority 1, shipping taxable.
  The postcode exceptions of that period follow as more specific rows (for
  example Heligoland, the Canary Islands, Madeira). Source:
  [ibericode/vat-rates](https://github.com/ibericode/vat-rates)
  `vat-rates.json`, MIT licence.
- `us_state_base.csv` ({us_rows} rows): the state sales tax rate of the 50
  states and DC as of 2025-01-01, priority 1. States with no state sales tax
  have a 0 % row. Source: Tax Foundation, *Facts & Figures 2025*, table 18
  "State & Local Sales Tax Rates, as of January 1, 2025" (itself from the
  Sales Tax Clearinghouse and Tax Foundation calculations). Cite the Tax
  Foundation when reusing the figures.

## What the tables leave out

- Reduced, super-reduced and parking VAT rates: only the standard rate is
  here. Add reduced rates as rows with a tax class (for example
  `reduced-rate`) when the catalogue needs them.
- Local US sales taxes. The state rate of California (7.25 %), Utah and
  Virginia includes the mandatory statewide local add-on, as the Tax
  Foundation counts it. City, county and district rates must be added as
  priority 2 rows (for example New York City's 4.875 % on top of New York
  State's 4 %).
- Whether shipping is taxable differs by US state and by how the charge is
  billed. Every row here marks shipping taxable because the source does
  not cover it. The shop owner should review this column for each state
  where the shop collects sales tax.
- ibericode's postcode exceptions are regular expressions. They are written
  here as exact postcodes, numeric ranges (`51001...51005`) and prefixes
  (`971*`). A prefix also matches a postcode shorter than the regular
  expression requires.

## Rebuilding

    .venv/bin/python scripts/build_tax_tables.py --data-dir DIR --as-of YYYY-MM-DD

`DIR` holds these three files:

- `{vat_json}` (ibericode's `vat-rates.json`)
- `{us_csv}`
- `{us_json}`

The last two are the same Tax Foundation table as CSV and as JSON; the
script stops when their state rates differ. `--as-of` (default: today, UTC)
picks each country's VAT period in force on that date. Review the diff
before committing the new tables.
"""


def build(data_dir: Path, out_dir: Path, as_of: dt.date) -> None:
    vat = vat_rows(data_dir, as_of)
    us = us_rows(data_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_table(out_dir / "eu_gb_vat_standard.csv", vat)
    write_table(out_dir / "us_state_base.csv", us)
    readme = README.format(
        built=as_of.isoformat(),
        vat_rows=len(vat),
        us_rows=len(us),
        vat_json=VAT_JSON,
        us_csv=US_CSV,
        us_json=US_JSON,
    )
    (out_dir / "README.md").write_text(readme, encoding="utf-8")
    logger.info("wrote %d VAT rows and %d US rows to %s", len(vat), len(us), out_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="folder with the ibericode JSON and the Tax Foundation CSV and JSON",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT_DIR,
        help="folder to write the tables and README.md into (default: resources/tax)",
    )
    parser.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        default=dt.datetime.now(dt.UTC).date(),
        help="date whose VAT rates to take, YYYY-MM-DD (default: today, UTC)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        build(args.data_dir, args.out, args.as_of)
    except (BuildError, OSError, KeyError) as error:
        logger.error("tax tables not built: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
