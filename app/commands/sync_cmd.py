"""``sync`` and ``channel``: connect Shopify and WooCommerce, and keep them in step.

``backroom sync --once`` walks every connected channel's orders and sends the
queue once; ``backroom sync`` keeps doing so until SIGINT or SIGTERM, which
stop it after the current step. Secrets come from the OS keyring, from
``BACKROOM_SECRET_<CHANNEL>_<FIELD>`` environment variables, or from a
prompt when the command runs in a terminal (see ``app.sync.secrets``).
"""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
import threading
from datetime import UTC, datetime
from decimal import Decimal
from types import FrameType
from typing import Any

from sqlalchemy import Engine

from app.commands.common import add_db, emit_json, open_shop
from app.core.channels import accounts, buffers, issues, listings, status
from app.core.exceptions import ValidationError
from app.core.uow import UnitOfWork
from app.sync.engine import RunReport, SyncEngine
from app.sync.errors import SyncError
from app.sync.secrets import FIELDS, SecretStore, env_name


def register(subparsers: Any) -> None:
    sync = subparsers.add_parser(
        "sync",
        help="read channel orders and send queued stock and tracking",
        description="Poll every connected Shopify and WooCommerce channel and send "
        "the outbox. Without --once it runs until stopped (Ctrl+C or SIGTERM), "
        "finishing the current step first.",
    )
    add_db(sync)
    sync.add_argument("--once", action="store_true", help="one pass, then exit")
    sync.add_argument("--channel", metavar="NAME", help="only this channel")
    sync.set_defaults(handler=cmd_sync)

    channel = subparsers.add_parser("channel", help="connect and configure channels")
    commands = channel.add_subparsers(dest="channel_command", required=True)

    add = commands.add_parser("add", help="connect a Shopify or WooCommerce store")
    add.add_argument("name", help="channel name, unique in this shop")
    add.add_argument("--kind", required=True, choices=accounts.SYNC_KINDS)
    add.add_argument("--url", required=True, help="the store's https:// address")
    add.add_argument(
        "--poll-interval",
        type=int,
        default=accounts.DEFAULT_POLL_INTERVAL_S,
        help="seconds between order polls (default %(default)s)",
    )
    add.add_argument(
        "--overlap",
        type=int,
        default=accounts.DEFAULT_OVERLAP_S,
        help="seconds each poll reaches back before the cursor (default %(default)s)",
    )
    add.add_argument(
        "--import-from",
        type=_moment,
        help="read orders updated since this ISO 8601 time on the first poll "
        "(default: now)",
    )
    add.add_argument(
        "--location",
        help="Shopify location id where stock is set (default: the first active one)",
    )
    add.add_argument(
        "--query-string-auth",
        action="store_true",
        help="WooCommerce: send the key in the URL (for servers that drop headers)",
    )
    add_db(add)
    add.set_defaults(handler=cmd_add)

    listing = commands.add_parser("list", help="list channels and their sync state")
    add_db(listing)
    listing.set_defaults(handler=cmd_list)

    test = commands.add_parser(
        "test", help="check the connection and read the channel's listings"
    )
    test.add_argument("name")
    add_db(test)
    test.set_defaults(handler=cmd_test)

    secret = commands.add_parser("secret", help="enter a channel's credentials again")
    secret.add_argument("name")
    add_db(secret, json_output=False)
    secret.set_defaults(handler=cmd_secret)

    map_sku = commands.add_parser(
        "map-sku", help="sell a channel SKU as a local SKU; releases held orders"
    )
    map_sku.add_argument("name")
    map_sku.add_argument("channel_sku", help="the SKU as the channel shows it")
    map_sku.add_argument("sku", help="the local SKU it sells")
    add_db(map_sku)
    map_sku.set_defaults(handler=cmd_map_sku)

    buffer = commands.add_parser(
        "buffer", help="hold units back from a channel, for one SKU or all"
    )
    buffer.add_argument("name")
    buffer.add_argument("--sku", help="the SKU (default: every SKU of the channel)")
    mode = buffer.add_mutually_exclusive_group(required=True)
    mode.add_argument("--units", type=int, help="hold back this many units")
    mode.add_argument("--percent", type=Decimal, help="hold back this %% of available")
    mode.add_argument(
        "--keep-last",
        type=int,
        metavar="N",
        help="show 0 while available is N or less, everything above",
    )
    mode.add_argument(
        "--auto", action="store_true", help="size the buffer from sales velocity"
    )
    mode.add_argument("--clear", action="store_true", help="remove the rule")
    buffer.add_argument(
        "--target",
        type=Decimal,
        default=buffers.DEFAULT_TARGET,
        help="--auto: accepted chance of overselling (default %(default)s)",
    )
    buffer.add_argument(
        "--window-days",
        type=int,
        default=buffers.DEFAULT_WINDOW_DAYS,
        help="--auto: days of sales the velocity is measured over "
        "(default %(default)s)",
    )
    add_db(buffer)
    buffer.set_defaults(handler=cmd_buffer)

    rate = commands.add_parser(
        "rate", help="set the exchange rate for a channel's orders in a currency"
    )
    rate.add_argument("name")
    rate.add_argument("currency", help="ISO 4217 code of the order currency")
    rate.add_argument("rate", help="shop currency per one unit of it")
    add_db(rate)
    rate.set_defaults(handler=cmd_rate)

    issue_list = commands.add_parser("issues", help="list the sync exceptions queue")
    issue_list.add_argument("name", nargs="?", help="only this channel")
    add_db(issue_list)
    issue_list.set_defaults(handler=cmd_issues)

    resolve = commands.add_parser("resolve", help="mark a sync issue as dealt with")
    resolve.add_argument("issue", type=int, help="issue id from `channel issues`")
    resolve.add_argument("--note", default="resolved by hand", help="what was done")
    add_db(resolve, json_output=False)
    resolve.set_defaults(handler=cmd_resolve)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time; write it as 2026-03-01T00:00:00+00:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _ask_secrets(store: SecretStore, name: str, kind: str) -> list[str]:
    """Prompt for missing secrets in a terminal; return the fields still missing."""
    if _interactive():
        store.ask_missing(name, kind, getpass.getpass)
    return store.missing(name, kind)


def _warn_missing(name: str, missing: list[str]) -> None:
    names = ", ".join(env_name(name, field) for field in missing)
    print(
        f"backroom: channel {name!r} has no {', '.join(missing)} stored; run "
        f"`backroom channel secret {name!r}` in a terminal or set {names}",
        file=sys.stderr,
    )


def cmd_add(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine) as uow:
        config = accounts.connect_channel(
            uow,
            args.name,
            args.kind,
            args.url,
            poll_interval_s=args.poll_interval,
            overlap_s=args.overlap,
            import_from=args.import_from,
            location_ref=args.location,
            query_string_auth=args.query_string_auth,
        )
        uow.commit()
    store = SecretStore()
    missing = _ask_secrets(store, config.name, config.kind)
    if missing:
        _warn_missing(config.name, missing)
    if args.json:
        emit_json(
            {"id": config.id, "name": config.name, "kind": config.kind,
             "url": config.url, "missing_secrets": missing}
        )  # fmt: skip
    else:
        print(f"Connected {config.kind} channel {config.name!r} at {config.url}")
        if not store.persistent:
            print(
                "This machine has no system keyring: secrets are kept for this "
                "session only and asked for again next time."
            )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine, write=False) as uow:
        rows = status.all_status(uow.session)
    if args.json:
        emit_json(
            [
                {
                    "name": r.name,
                    "kind": r.kind,
                    "url": r.url,
                    "connected": r.connected,
                    "status": r.text,
                    "waiting": r.waiting,
                    "parked": r.parked,
                    "issues": r.issues,
                    "offline": r.offline,
                    "last_poll_ok_at": _iso(r.last_poll_ok_at),
                    "last_push_at": _iso(r.last_push_at),
                    "last_error": r.last_error,
                }
                for r in rows
            ]
        )
        return 0
    if not rows:
        print("No Shopify or WooCommerce channels; add one with `backroom channel add`")
    for r in rows:
        print(f"{r.name:<24} {r.kind:<12} {r.text}")
        if r.last_error:
            print(f"{'':<24} last error: {r.last_error}")
    return 0


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def cmd_test(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    store = SecretStore()
    sync = SyncEngine(engine, secrets=store)
    config = _config(engine, args.name)
    missing = _ask_secrets(store, config.name, config.kind)
    if missing:
        _warn_missing(config.name, missing)
        return 2
    try:
        message, report = sync.test(args.name)
    except SyncError as exc:
        print(f"backroom channel test: {exc}", file=sys.stderr)
        return 1
    if args.json:
        emit_json(
            {
                "message": message,
                "listings": report.total,
                "matched": report.matched,
                "unmatched": list(report.unmatched),
            }
        )
    else:
        print(message)
        print(f"{report.total} listings, {report.matched} matched to local SKUs")
        for sku in report.unmatched:
            print(f"  unmatched: {sku} (map it with `backroom channel map-sku`)")
    return 0


def _config(engine: Engine, name: str) -> accounts.ChannelConfig:
    with UnitOfWork(engine, write=False) as uow:
        return accounts.channel_config(uow.session, name)


def cmd_secret(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    config = _config(engine, args.name)
    if not _interactive():
        print(
            "backroom channel secret: needs a terminal to ask; for scripts set "
            + ", ".join(env_name(config.name, f) for f, _label in FIELDS[config.kind]),
            file=sys.stderr,
        )
        return 2
    store = SecretStore()
    for field, label in FIELDS[config.kind]:
        value = getpass.getpass(f"{label} for channel {config.name!r}: ").strip()
        if value:
            store.set(config.name, field, value)
    SyncEngine(engine, secrets=store).credentials_changed(config.name)
    print(
        "Stored in the system keyring."
        if store.persistent
        else "No system keyring: kept for this session only."
    )
    return 0


def cmd_map_sku(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine) as uow:
        result = listings.map_sku(uow, args.name, args.channel_sku, args.sku)
        uow.commit()
    if args.json:
        emit_json(
            {"listing": result.listing_id, "released": list(result.released_orders)}
        )
    else:
        print(
            f"{args.channel_sku} on {args.name} now sells {args.sku}; "
            f"{len(result.released_orders)} held order(s) released"
        )
    return 0


def cmd_buffer(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine) as uow:
        if args.clear:
            buffers.clear_buffer(uow, args.name, args.sku)
        elif args.auto:
            buffers.set_buffer(
                uow,
                args.name,
                args.sku,
                "auto",
                target=args.target,
                window_days=args.window_days,
            )
        elif args.units is not None:
            buffers.set_buffer(uow, args.name, args.sku, "units", units=args.units)
        elif args.percent is not None:
            buffers.set_buffer(
                uow, args.name, args.sku, "percent", percent=args.percent
            )
        else:
            buffers.set_buffer(
                uow, args.name, args.sku, "keep_last", units=args.keep_last
            )
        uow.commit()
    with UnitOfWork(engine, write=False) as uow:
        channel_id = accounts.channel_config(uow.session, args.name).id
        rules = buffers.buffers(uow.session, channel_id)
    if args.json:
        emit_json(
            [
                {"sku": r.sku, "mode": r.mode, "units": r.units,
                 "percent": _plain(r.percent), "target": _plain(r.target),
                 "auto_units": r.auto_units}
                for r in rules
            ]
        )  # fmt: skip
    else:
        for r in rules:
            print(f"{r.sku or '(every SKU)':<24} {_describe(r)}")
    return 0


def _plain(value: Decimal) -> str:
    """Return a Decimal without exponent or trailing zeros, as JSON keeps it."""
    return f"{value.normalize():f}"


def _describe(rule: buffers.BufferView) -> str:
    if rule.mode == "units":
        return f"hold back {rule.units} unit(s)"
    if rule.mode == "percent":
        return f"hold back {_plain(rule.percent)}% of available"
    if rule.mode == "keep_last":
        return f"show 0 while {rule.units} or fewer are available"
    return (
        f"automatic: {rule.auto_units} unit(s) now, at most {_plain(rule.target)} "
        f"chance of overselling, {_plain(rule.auto_rate_per_hour)} units/hour "
        "sold elsewhere"
    )


def cmd_rate(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine) as uow:
        accounts.set_fx_rate(uow, args.name, args.currency, args.rate)
        uow.commit()
    if args.json:
        emit_json({"currency": args.currency.upper(), "rate": args.rate})
    else:
        print(f"{args.name}: orders in {args.currency.upper()} import at {args.rate}")
    return 0


def cmd_issues(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine, write=False) as uow:
        channel_id = (
            accounts.channel_config(uow.session, args.name).id if args.name else None
        )
        found = issues.issues(uow.session, channel_id)
    if args.json:
        emit_json(
            [
                {"id": i.id, "channel": i.channel, "kind": i.kind, "message": i.message,
                 "external_id": i.external_id, "sku": i.sku, "order_id": i.order_id,
                 "occurrences": i.occurrences, "last_seen_at": _iso(i.last_seen_at)}
                for i in found
            ]
        )  # fmt: skip
        return 0
    for i in found:
        print(f"#{i.id} [{i.channel}] {i.kind}: {i.message}")
    if not found:
        print("No open sync issues.")
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine) as uow:
        issues.resolve_issue(uow, args.issue, args.note)
        uow.commit()
    print(f"Issue {args.issue} resolved")
    return 0


def _summary(run: RunReport) -> dict[str, Any]:
    poll = run.poll
    push = run.push
    return {
        "channel": run.channel,
        "poll": poll.status if poll else None,
        "orders_seen": poll.seen if poll else 0,
        "captured": poll.captured if poll else 0,
        "held": poll.held if poll else 0,
        "updated": (poll.updated + poll.cancelled) if poll else 0,
        "waiting": poll.waiting if poll else 0,
        "sent": push.sent if push else 0,
        "tracking": push.tracking if push else 0,
        "parked": push.parked if push else 0,
        "status": run.status,
        "message": (poll.message if poll and poll.message else None)
        or (push.message if push and push.message else None),
    }


def cmd_sync(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    store = SecretStore()
    sync = SyncEngine(engine, secrets=store)
    configs = sync.configs(args.channel)
    if not configs:
        raise ValidationError(
            "channel", None, "no connected Shopify or WooCommerce channel to sync"
        )
    for config in configs:
        missing = _ask_secrets(store, config.name, config.kind)
        if missing:
            _warn_missing(config.name, missing)
    if args.once:
        reports = sync.run_once(args.channel)
        summaries = [_summary(r) for r in reports]
        if args.json:
            emit_json(summaries)
        else:
            for s in summaries:
                print(
                    f"{s['channel']}: {s['orders_seen']} orders read, "
                    f"{s['captured']} captured, {s['held']} held, {s['updated']} "
                    f"updated, {s['waiting']} waiting; sent {s['sent']} stock "
                    f"figure(s) and {s['tracking']} tracking number(s); {s['status']}"
                )
                if s["message"]:
                    print(f"  {s['message']}")
        failed = [s for s in summaries if s["poll"] not in ("ok", None)]
        return 1 if failed else 0
    return _loop(sync, args.channel)


def _loop(sync: SyncEngine, channel: str | None) -> int:
    """Run steps until SIGINT or SIGTERM; the step in progress always finishes."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {
        sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        while not stop.is_set():
            pause = sync.step(channel)
            stop.wait(pause)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("backroom sync: stopped", file=sys.stderr)
    return 0
