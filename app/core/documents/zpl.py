"""4x6 inch shipping labels in ZPL II, and raw printing through CUPS.

The label targets 203 dpi thermal printers: 812 x 1218 dots, the layout of
the PDF label (header, sender with QR code, recipient, Code128 tracking
barcode, references). Text fields use the printer's scalable font 0 in
``^FB`` field blocks, with ``^CI28`` so that field data is UTF-8.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from collections.abc import Sequence

from app.core.documents import (
    DocumentError,
    LabelData,
    address_lines,
    check_tracking_number,
    format_weight,
)

logger = logging.getLogger(__name__)

DOTS_WIDE = 812
DOTS_HIGH = 1218
MARGIN = 30
CONTENT_WIDTH = DOTS_WIDE - 2 * MARGIN

# Font 0 is proportional. NOTE: 0.6 x the character height is an estimate
# of its average character width, not a measured metric. It is set wide so
# that our own wrapping breaks lines before the printer's ^FB would.
CHAR_WIDTH_RATIO = 0.6
QUIET_MODULES = 10


class PrinterError(DocumentError):
    """A label could not be handed to the print queue."""


def escape_field(text: str) -> str:
    """Escape user text for a ``^FH^FD`` field inside an ``^FB`` block.

    ``^`` and ``~`` start commands and ``_`` is the ``^FH`` hex indicator, so
    they become ``_5E``, ``_7E`` and ``_5F``. A backslash is doubled because
    ``^FB`` reads ``\\&`` as a line break. Control characters become spaces.
    """
    cleaned = "".join(" " if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text)
    cleaned = cleaned.replace("\\", "\\\\")
    return cleaned.replace("_", "_5F").replace("^", "_5E").replace("~", "_7E")


def _chars_per_line(width: int, height: int) -> int:
    return max(1, int(width // (height * CHAR_WIDTH_RATIO)))


def _wrap(text: str, limit: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > limit:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:limit])
            word = word[limit:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= limit:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 3)].rstrip() + "..."


def text_block(
    lines: Sequence[str],
    x: int,
    y: int,
    width: int,
    height: int,
    max_size: int,
    min_size: int,
    owner: str = "label",
) -> str:
    """Return one ``^FO^A0^FB`` field with ``lines``, sized to fit the box.

    The character height steps down by two dots until the wrapped lines fit.
    At ``min_size`` the lines that do not fit are dropped and the last kept
    line ends in "...". The cut is logged under ``owner``, a reference such
    as the shipment's, and never with the text itself. The ``^FB`` line
    count equals the lines written.
    """
    size = max_size
    while True:
        gap = max(2, size // 5)
        limit = _chars_per_line(width, size)
        wrapped = [piece for line in lines for piece in _wrap(line, limit)]
        if len(wrapped) * (size + gap) <= height or size - 2 < min_size:
            break
        size -= 2
    keep = max(1, height // (size + gap))
    if len(wrapped) > keep:
        logger.warning(
            "%s: ZPL text cut to fit a %d x %d dot box", owner, width, height
        )
        wrapped = wrapped[:keep]
        wrapped[-1] = _truncate(wrapped[-1] + "...", limit)
    data = "\\&".join(escape_field(line) for line in wrapped)
    return (
        f"^FO{x},{y}^A0N,{size},{size}^FB{width},{len(wrapped)},{gap},L,0"
        f"^FH^FD{data}^FS"
    )


def _line_field(text: str, x: int, y: int, width: int, size: int, align: str) -> str:
    limit = _chars_per_line(width, size)
    return (
        f"^FO{x},{y}^A0N,{size},{size}^FB{width},1,0,{align},0"
        f"^FH^FD{escape_field(_truncate(text, limit))}^FS"
    )


def code128_modules(value: str) -> int:
    """Estimate the width in modules of ``value`` in ``^BC`` automatic mode.

    Runs of four or more digits are packed two per symbol (subset C), and
    other characters take one symbol each (subset B). Each switch between
    subsets costs one symbol. Every symbol is 11 modules wide, and the start,
    check and 13-module stop symbols are added.
    """
    symbols = 1  # start
    subset = ""
    for run in re.findall(r"\d{4,}|\D+|\d{1,3}", value):
        if run.isdigit() and len(run) >= 4:
            odd = len(run) % 2
            if odd:
                symbols += 1 + (subset != "B")
                subset = "B"
            symbols += (subset != "C") + len(run) // 2
            subset = "C"
        else:
            symbols += (subset != "B") + len(run)
            subset = "B"
    # The first subset is chosen by the start symbol, not a switch.
    symbols -= 1
    return 11 * (symbols + 1) + 13


def _barcode(tracking_number: str) -> str:
    modules = code128_modules(tracking_number) + 2 * QUIET_MODULES
    for module_dots in (4, 3, 2):
        if modules * module_dots <= CONTENT_WIDTH:
            left = (DOTS_WIDE - (modules - 2 * QUIET_MODULES) * module_dots) // 2
            return (
                f"^FO{left},840^BY{module_dots},3,170"
                f"^BCN,170,N,N,N,A^FD{tracking_number}^FS"
            )
    raise DocumentError(
        f"tracking number {tracking_number!r} needs about {modules} Code128 "
        f"modules, more than a 4x6 label holds at 2 dots each; print the "
        "carrier's own label for this parcel"
    )


def render_label_zpl(data: LabelData) -> str:
    """Return the ZPL II program for one 4x6 label at 203 dpi.

    Raises DocumentError when the tracking number cannot be barcoded.
    """
    tracking = check_tracking_number(data.tracking_number)
    owner = f"shipment {data.shipment_ref}"
    international = data.ship_from.country.upper() != data.ship_to.country.upper()
    sender = address_lines(data.ship_from, include_country=international)
    recipient = address_lines(data.ship_to, include_country=international)
    if data.ship_to.phone:
        recipient.append(f"Tel. {data.ship_to.phone}")

    fields = [
        "^XA",
        "^CI28",
        f"^PW{DOTS_WIDE}",
        f"^LL{DOTS_HIGH}",
        "^LH0,0",
        "^FX Header: carrier, service, weight, date",
        _line_field(data.carrier, MARGIN, 30, 480, 56, "L"),
        _line_field(data.service, MARGIN, 96, 480, 30, "L"),
        _line_field(format_weight(data.weight_g), 482, 30, 300, 44, "R"),
        _line_field(data.created_at.strftime("%Y-%m-%d"), 482, 100, 300, 26, "R"),
        f"^FO{MARGIN},140^GB{CONTENT_WIDTH},4,4^FS",
        "^FX Sender and QR code of the tracking number",
        f"^FO{MARGIN},156^A0N,20,20^FDFROM^FS",
        text_block(sender, MARGIN, 182, 540, 158, 26, 18, owner),
        f"^FO596,156^BQN,2,6^FDMA,{tracking}^FS",
        f"^FO{MARGIN},352^GB{CONTENT_WIDTH},3,3^FS",
        "^FX Recipient",
        f"^FO{MARGIN},366^A0N,24,24^FDSHIP TO^FS",
        text_block(recipient, MARGIN, 400, CONTENT_WIDTH, 396, 56, 24, owner),
        f"^FO{MARGIN},812^GB{CONTENT_WIDTH},4,4^FS",
        "^FX Tracking number as Code128 with the number under it",
        _barcode(tracking),
        _line_field(tracking, MARGIN, 1024, CONTENT_WIDTH, 36, "C"),
        f"^FO{MARGIN},1076^GB{CONTENT_WIDTH},3,3^FS",
        _line_field(f"Order {data.order_ref}", MARGIN, 1100, 370, 22, "L"),
        _line_field(f"Shipment {data.shipment_ref}", 412, 1100, 370, 22, "R"),
        "^PQ1",
        "^XZ",
    ]
    return "\n".join(fields) + "\n"


# CUPS queue names are printable characters other than space, "/", "\\", "#"
# and quotes, at most 127 of them.
_QUEUE_RE = re.compile(r"[^\s/\\#'\"]{1,127}")


def build_lp_command(queue: str) -> list[str]:
    """Return the ``lp`` command that sends raw data to a CUPS ``queue``."""
    if not _QUEUE_RE.fullmatch(queue):
        raise PrinterError(
            f"printer queue name {queue!r} is invalid; CUPS names have no spaces, "
            "slashes, # or quotes. `lpstat -p` lists the queues on this machine"
        )
    return ["lp", "-d", queue, "-o", "raw"]


def send_raw_to_printer(zpl: str, queue: str, timeout_s: float = 30.0) -> str:
    """Send a ZPL program unchanged to a CUPS queue and return lp's output.

    The output names the print job, e.g. "request id is Zebra-12 (1 file(s))".
    Raises PrinterError when ``lp`` is missing, the queue is unknown or lp
    fails.
    """
    command = build_lp_command(queue)
    executable = shutil.which(command[0])
    if executable is None:
        raise PrinterError(
            "the CUPS command `lp` was not found; install the CUPS client "
            "(Debian: cups-client) or print the PDF label instead"
        )
    command[0] = executable
    logger.info("sending %d bytes of ZPL to printer queue %s", len(zpl), queue)
    try:
        result = subprocess.run(
            command,
            input=zpl.encode("utf-8"),
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PrinterError(
            f"`lp` did not finish within {timeout_s:.0f} s for queue {queue!r}; "
            "check that CUPS is running"
        ) from None
    stderr = result.stderr.decode("utf-8", "replace").strip()
    if result.returncode != 0:
        logger.error("lp failed for queue %s: %s", queue, stderr)
        lowered = stderr.lower()
        if "does not exist" in lowered or "unknown destination" in lowered:
            raise PrinterError(
                f"printer queue {queue!r} is unknown to CUPS ({stderr}); "
                "check the queue name in the printer settings. `lpstat -p` "
                "lists the queues on this machine"
            )
        raise PrinterError(
            f"`lp` failed for queue {queue!r} with exit status "
            f"{result.returncode}: {stderr or 'no message'}"
        )
    return result.stdout.decode("utf-8", "replace").strip()
