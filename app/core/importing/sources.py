"""Read CSV, gzipped CSV and Excel tables as rows of text, and parse their cells.

``open_table`` detects the container by its magic bytes, the text encoding and
the delimiter, and returns a ``TableSource`` whose ``rows()`` can be iterated
more than once (each call opens the file again). The cell readers turn text
into exact values and cache every distinct text, because import files repeat
the same prices, quantities and timestamps on many rows.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import logging
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO, Literal, cast
from zipfile import BadZipFile
from zoneinfo import ZoneInfo

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from app.core.importing.errors import CellValueError, UnreadableFileError

logger = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"

# Bytes read per step while looking for the first non-ASCII text.
_SCAN_CHUNK = 1 << 20
# Characters of text passed to csv.Sniffer, which is slow on large samples.
_SNIFF_CHARS = 16_384
_DELIMITERS = ",;\t|"

TableKind = Literal["csv", "csv.gz", "xlsx"]
ProgressUnit = Literal["bytes", "rows"]
DateOrder = Literal["iso", "month_first", "day_first"]


class TableSource(ABC):
    """A table file: its header and an iterator over its data rows.

    ``rows()`` yields ``(row_number, fields)`` where row numbers count records
    from 1 (the header) as a spreadsheet does. A quoted CSV field spanning
    several lines therefore still counts as one row. Rows whose fields are all
    empty are skipped, but their numbers are still counted.

    While ``rows()`` runs, ``progress_done`` grows towards ``progress_total``
    in ``progress_unit``. For CSV the unit is bytes of the file on disk
    (compressed bytes for gzip). For Excel it is rows, and the total is the
    sheet's declared dimension, which is 0 when the file declares none.
    """

    path: Path
    kind: TableKind
    header: list[str]
    encoding: str
    delimiter: str
    progress_unit: ProgressUnit
    progress_total: int

    @property
    @abstractmethod
    def progress_done(self) -> int: ...

    @abstractmethod
    def rows(self) -> Generator[tuple[int, list[str]], None, None]: ...


def open_table(path: str | Path) -> TableSource:
    """Open a .csv, gzipped .csv or .xlsx file and read its header.

    The container is recognised by its first bytes, not by the file name.
    Raises UnreadableFileError when the file is missing, empty or not a table.
    """
    path = Path(path)
    try:
        with path.open("rb") as file:
            magic = file.read(4)
    except OSError as exc:
        raise UnreadableFileError(
            f"{path}: cannot open the file ({exc.strerror}). "
            "Check the path and that the file is readable."
        ) from exc

    if magic.startswith(ZIP_MAGIC):
        return _XlsxSource(path)
    return _CsvSource(path, compressed=magic.startswith(GZIP_MAGIC))


def write_table_csv(dest: Path, header: list[str], rows: Iterable[list[str]]) -> int:
    """Write a comma-separated UTF-8 file with a byte order mark, return rows written.

    The byte order mark makes Excel show characters such as £ correctly, and
    ``open_table`` reads the file back unchanged.
    """
    count = 0
    with dest.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


@contextmanager
def _open_binary(path: Path, compressed: bool) -> Iterator[tuple[BinaryIO, BinaryIO]]:
    """Yield the raw file (for progress) and the stream of table bytes."""
    with path.open("rb") as raw:
        if compressed:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                yield raw, cast(BinaryIO, stream)
        else:
            yield raw, raw


def detect_encoding(stream: BinaryIO) -> str:
    """Return the Python codec name for a byte stream of text.

    A byte order mark decides first (UTF-8 or UTF-16). Otherwise the stream is
    read in 1 MiB blocks up to the first block with non-ASCII bytes, and the
    text is UTF-8 when that block decodes as UTF-8, else Windows-1252.
    Windows-1252 is a superset of the printable part of ISO-8859-1, so it
    also reads Latin-1 exports, and the five bytes it leaves undefined read
    as U+FFFD. Pure ASCII text is reported as UTF-8. When a UTF-8 file has
    an invalid byte in a later block, ``rows()`` raises UnreadableFileError
    near that row. Text in other legacy encodings (cp1250, Mac Roman) is not
    detected and would read with wrong accented letters.
    """
    head = stream.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"

    decoder = codecs.getincrementaldecoder("utf-8")()
    chunk = head + stream.read(_SCAN_CHUNK)
    seen_non_ascii = False
    while True:
        final = not chunk
        if not seen_non_ascii and not final and chunk.isascii():
            chunk = stream.read(_SCAN_CHUNK)
            continue
        try:
            decoder.decode(chunk, final)
        except UnicodeDecodeError:
            return "cp1252"
        if final:
            return "utf-8"
        seen_non_ascii = True
        pending, _ = decoder.getstate()
        if not pending:
            return "utf-8"
        chunk = stream.read(_SCAN_CHUNK)


class _CsvSource(TableSource):
    def __init__(self, path: Path, *, compressed: bool) -> None:
        self.path = path
        self.kind = "csv.gz" if compressed else "csv"
        self._compressed = compressed
        self.progress_unit = "bytes"
        self.progress_total = path.stat().st_size
        self._raw: BinaryIO | None = None
        self._done = 0

        try:
            with _open_binary(path, compressed) as (_, stream):
                self.encoding = detect_encoding(stream)
            with self._open_text() as (_, text):
                sample = text.read(_SNIFF_CHARS)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise UnreadableFileError(
                f"{path}: cannot read the file ({exc}). "
                "Check that it is a complete CSV or gzipped CSV file."
            ) from exc
        self.delimiter = _sniff_delimiter(sample)

        try:
            first = next(
                csv.reader(io.StringIO(sample), delimiter=self.delimiter), None
            )
        except csv.Error as exc:
            raise UnreadableFileError(
                f"{path}: the start of the file is not valid CSV ({exc}). "
                "Check that it is a CSV export and not another kind of file."
            ) from exc
        if not first:
            raise UnreadableFileError(
                f"{path}: the file is empty or its first row is blank. "
                "The first row must be the header with the column names."
            )
        self.header = first
        logger.debug(
            "opened %s as %s, encoding %s, delimiter %r",
            path,
            self.kind,
            self.encoding,
            self.delimiter,
        )

    @contextmanager
    def _open_text(
        self,
    ) -> Iterator[tuple[BinaryIO, io.TextIOWrapper[BinaryIO]]]:
        errors = "replace" if self.encoding == "cp1252" else "strict"
        with _open_binary(self.path, self._compressed) as (raw, stream):
            text = io.TextIOWrapper(
                stream, encoding=self.encoding, errors=errors, newline=""
            )
            try:
                yield raw, text
            finally:
                text.detach()

    @property
    def progress_done(self) -> int:
        if self._raw is not None and not self._raw.closed:
            return self._raw.tell()
        return self._done

    def rows(self) -> Generator[tuple[int, list[str]], None, None]:
        number = 1
        with self._open_text() as (raw, text):
            self._raw = raw
            reader = csv.reader(text, delimiter=self.delimiter)
            try:
                next(reader, None)
                for number, fields in enumerate(reader, start=2):
                    if any(fields):
                        yield number, fields
            except UnicodeDecodeError as exc:
                raise UnreadableFileError(
                    f"{self.path}: the rows after row {number} are not valid "
                    f"{self.encoding} ({exc.reason}). Save the file as UTF-8 "
                    "and import it again."
                ) from exc
            except csv.Error as exc:
                raise UnreadableFileError(
                    f"{self.path}: row {number + 1} is not valid CSV ({exc}). "
                    "Check that row's quoting and import the file again."
                ) from exc
            except (EOFError, gzip.BadGzipFile) as exc:
                raise UnreadableFileError(
                    f"{self.path}: the compressed data ends or breaks after row "
                    f"{number} ({exc}). The file is incomplete: copy it again."
                ) from exc
            finally:
                self._done = raw.tell() if not raw.closed else self._done
                self._raw = None
        self._done = self.progress_total


def _sniff_delimiter(sample: str) -> str:
    """Return the delimiter csv.Sniffer finds in whole lines of ``sample``, or ','."""
    cut = sample.rfind("\n")
    lines = sample[: cut + 1] if cut > 0 else sample
    try:
        return csv.Sniffer().sniff(lines, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


class _XlsxSource(TableSource):
    """The first worksheet of an .xlsx workbook, read in openpyxl's streaming mode."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kind = "xlsx"
        self.encoding = "utf-8"
        self.delimiter = ""
        self.progress_unit = "rows"
        self._done = 0

        with self._open_sheet() as sheet:
            self.progress_total = sheet.max_row or 0
            first = next(sheet.iter_rows(values_only=True), None)
        if not first or not any(cell is not None for cell in first):
            raise UnreadableFileError(
                f"{path}: the first worksheet is empty or its first row is "
                "blank. The first row must be the header with the column names."
            )
        self.header = [cell_text(cell) for cell in first]

    @contextmanager
    def _open_sheet(self) -> Iterator[ReadOnlyWorksheet]:
        try:
            workbook = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except (BadZipFile, InvalidFileException, KeyError, OSError) as exc:
            raise UnreadableFileError(
                f"{self.path}: cannot open the file as an Excel workbook "
                f"({exc}). Save it as .xlsx or CSV and import it again."
            ) from exc
        try:
            yield workbook.worksheets[0]
        finally:
            workbook.close()

    @property
    def progress_done(self) -> int:
        return self._done

    def rows(self) -> Generator[tuple[int, list[str]], None, None]:
        with self._open_sheet() as sheet:
            values = sheet.iter_rows(min_row=2, values_only=True)
            for number, cells in enumerate(values, start=2):
                self._done = number
                if any(cell is not None and cell != "" for cell in cells):
                    yield number, [cell_text(cell) for cell in cells]
        self._done = max(self.progress_total, self._done)


def cell_text(value: object) -> str:
    """Return an Excel cell value as the text a CSV export would hold.

    Whole floats lose their ``.0``, other floats keep their shortest exact
    decimal form, and datetimes round to the nearest second (Excel stores
    times as fractions of a day, so 08:26 can read back as 08:25:59.999999).
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        if value.microsecond >= 500_000:
            value += timedelta(seconds=1)
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


#: The largest quantity a row may carry; larger ones are typing errors and
#: would not fit the database's 64-bit integers once multiplied by a price.
MAX_QUANTITY = 1_000_000_000
#: The largest amount in major units a cell may carry, for the same reason.
MAX_AMOUNT = Decimal(10) ** 12


class DecimalReader:
    """Parse plain decimal text such as prices into exact values.

    ``parse`` returns the Decimal as written and the same value as an integer
    count of ``10 ** -max_places`` units, so that sums and products stay exact
    ints. Accepted: an optional sign, digits, and at most ``max_places``
    digits after a point. Rejected: thousands separators, exponents, NaN and
    anything else.
    """

    def __init__(self, max_places: int) -> None:
        self.max_places = max_places
        self._scale = 10**max_places
        self._cache: dict[str, tuple[Decimal, int] | str] = {}

    def parse(self, text: str) -> tuple[Decimal, int]:
        """Return ``(value, scaled_int)`` or raise CellValueError."""
        cached = self._cache.get(text)
        if cached is None:
            cached = self._parse_uncached(text)
            self._cache[text] = cached
        if isinstance(cached, str):
            raise CellValueError(cached)
        return cached

    def _parse_uncached(self, text: str) -> tuple[Decimal, int] | str:
        stripped = text.strip()
        body = stripped[1:] if stripped[:1] in ("+", "-") else stripped
        whole, _, fraction = body.partition(".")
        if not (whole or fraction) or not _is_digits(whole) or not _is_digits(fraction):
            return "is not a decimal number"
        if len(fraction) > self.max_places:
            return f"has more than {self.max_places} decimal places"
        value = Decimal(stripped)
        if abs(value) >= MAX_AMOUNT:
            return f"is larger than {MAX_AMOUNT:,.0f}; check the number"
        return value, int(value.scaleb(self.max_places))


class IntegerReader:
    """Parse whole-number text such as quantities, accepting ``6.0`` as 6.

    Spreadsheet and pandas exports write whole numbers as ``6.0`` when a
    column also contains blanks, so zeros after a point are allowed.
    """

    def __init__(self) -> None:
        self._cache: dict[str, int | None] = {}

    def parse(self, text: str) -> int:
        """Return the integer or raise CellValueError."""
        try:
            cached = self._cache[text]
        except KeyError:
            cached = self._parse_uncached(text)
            self._cache[text] = cached
        if cached is None:
            whole, _, fraction = text.strip().lstrip("+-").partition(".")
            if whole.isascii() and whole.isdigit() and not fraction.strip("0"):
                raise CellValueError(f"is larger than {MAX_QUANTITY:,}")
            raise CellValueError("is not a whole number")
        return cached

    @staticmethod
    def _parse_uncached(text: str) -> int | None:
        stripped = text.strip()
        body = stripped[1:] if stripped[:1] in ("+", "-") else stripped
        whole, point, fraction = body.partition(".")
        if not whole or not _is_digits(whole):
            return None
        if point and fraction.strip("0"):
            return None
        value = int(whole)
        if value > MAX_QUANTITY:
            return None
        return -value if stripped.startswith("-") else value


def _is_digits(text: str) -> bool:
    """Return whether text is empty or ASCII digits only."""
    return not text or (text.isascii() and text.isdigit())


def detect_date_order(values: Iterable[str]) -> tuple[DateOrder, bool]:
    """Return the date order of timestamp texts and whether it was assumed.

    The first recognisable value decides between year-first dates, read as
    ISO (``2010-12-01 08:26``, also ``2010/12/01 08:26``), and slashed dates
    (``12/1/2010 8:26`` or ``01/12/2010 08:26``). For slashed dates a first
    field above 12 proves day/month and a second field above 12 proves
    month/day, and the scan stops at the first proof. When the whole input
    has no proof, month/day is assumed, because the published CSV exports of
    the UCI Online Retail data use it.
    """
    seen_slashed = False
    for value in values:
        text = value.strip()
        if text[4:5] in ("-", "/") and _is_digits(text[:4]) and not seen_slashed:
            return "iso", False
        first, _, rest = text.partition("/")
        second, slash, _ = rest.partition("/")
        if not slash or not _is_digits(first) or not _is_digits(second):
            continue
        if not first or not second:
            continue
        seen_slashed = True
        if int(first) > 12:
            return "day_first", False
        if int(second) > 12:
            return "month_first", False
    if seen_slashed:
        return "month_first", True
    return "iso", False


class LocalDateTimeReader:
    """Parse local timestamps in one date order and convert them to UTC.

    ``parse`` returns ``(local, utc)``: the naive local time as written and the
    aware UTC time. Times that occur twice when clocks go back take the first
    occurrence (``fold=0``, still summer time). Times skipped when clocks go
    forward are read with the offset before the change, which moves them
    forward by the gap: 01:30 on a UK spring-forward day is 01:30 UTC, the
    instant the clocks show 02:30. Text that carries its own UTC offset is
    converted from that offset.
    """

    def __init__(self, order: DateOrder, time_zone: ZoneInfo) -> None:
        self.order = order
        self.time_zone = time_zone
        self._cache: dict[str, tuple[datetime, datetime] | None] = {}

    def parse(self, text: str) -> tuple[datetime, datetime]:
        """Return ``(local, utc)`` or raise CellValueError."""
        try:
            cached = self._cache[text]
        except KeyError:
            cached = self._parse_uncached(text)
            self._cache[text] = cached
        if cached is None:
            raise CellValueError(f"is not a date and time in {self.format_name}")
        return cached

    @property
    def format_name(self) -> str:
        """The expected spelling, for messages."""
        return {
            "iso": "the form 2010-12-01 08:26:00",
            "month_first": "the form month/day/year 12/1/2010 8:26",
            "day_first": "the form day/month/year 01/12/2010 08:26",
        }[self.order]

    def _parse_uncached(self, text: str) -> tuple[datetime, datetime] | None:
        stripped = text.strip()
        parsed: datetime | None
        try:
            if self.order == "iso":
                if stripped[4:5] == "/":
                    stripped = stripped.replace("/", "-", 2)
                parsed = datetime.fromisoformat(stripped)
            else:
                parsed = _parse_slashed(stripped, self.order)
        except ValueError:
            return None
        if parsed is None:
            return None

        if parsed.tzinfo is not None:
            utc = parsed.astimezone(UTC)
            return utc.astimezone(self.time_zone).replace(tzinfo=None), utc
        utc = parsed.replace(tzinfo=self.time_zone).astimezone(UTC)
        return parsed, utc


def _parse_slashed(text: str, order: DateOrder) -> datetime | None:
    """Parse ``D/M/YYYY [H:MM[:SS]] [AM|PM]`` or its month-first form."""
    date_part, _, time_part = text.partition(" ")
    fields = date_part.split("/")
    if len(fields) != 3 or not all(f and _is_digits(f) for f in fields):
        return None
    if len(fields[2]) != 4:
        return None
    first, second, year = (int(f) for f in fields)
    month, day = (first, second) if order == "month_first" else (second, first)

    time_part = time_part.strip()
    meridiem = time_part[-2:].upper()
    if meridiem in ("AM", "PM"):
        time_part = time_part[:-2].strip()
    clock = time_part.split(":") if time_part else ["0", "0"]
    if len(clock) not in (2, 3) or not all(f and _is_digits(f) for f in clock):
        return None
    hour, minute, second_of_minute = (int(f) for f in [*clock, "0"][:3])
    if meridiem in ("AM", "PM"):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "PM" else 0)
    return datetime(year, month, day, hour, minute, second_of_minute)
