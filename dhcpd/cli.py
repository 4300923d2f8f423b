"""The command line, compatible with isc-dhcpd's: `python -m dhcpd [-f] [-d] [-q] [-t|-T] [-4] [-cf FILE]
[-lf FILE] [-pf FILE] [--db URL] [interface ...]`, plus `python -m dhcpd export-leases`.

`-t` checks the configuration and exits 0 when it is good, 1 with `FILE line N: message` lines when not.
Settings that dhcpd.conf cannot express come from flags or the environment (`DHCPD_DB_URL`).
"""

from __future__ import annotations

import argparse
import functools
import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Callable

import uvloop

from api.service import DEFAULT_API, ApiListenError, open_listener, serve_api
from dhcpd.config.errors import ConfigError
from dhcpd.config.model import Config
from dhcpd.config.parser import load
from dhcpd.leases.database import DURABILITY_LEVELS, SchemaUpgradeFailed, upgrade_schema_in_child
from dhcpd.leases.importing import import_lease_file
from dhcpd.leases.iscfile import ParseError, write_leases
from dhcpd.leases.store import DEFAULT_DB_URL, LeaseStore
from dhcpd.packetlog import Writer, stderr_writer, syslog_writer
from dhcpd.ratelimit import Rate, parse_rate
from dhcpd.server import Settings, serve, write_pid_file

DEFAULT_CONFIG = "/etc/dhcp/dhcpd.conf"
log = logging.getLogger("dhcpd")


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dhcpd", description=__doc__.split("\n\n")[0])
    parser.add_argument("-f", dest="foreground", action="store_true", help="run in the foreground")
    parser.add_argument("-d", dest="debug", action="store_true", help="log to stderr (implies -f)")
    parser.add_argument("-q", dest="quiet", action="store_true", help="no banner (accepted for isc compatibility)")
    parser.add_argument("-t", dest="test_config", action="store_true", help="test the configuration and exit")
    parser.add_argument("-T", dest="test_leases", action="store_true", help="test the lease file (-lf) and exit")
    parser.add_argument("-4", dest="ipv4", action="store_true", help="DHCPv4 (the only protocol served)")
    parser.add_argument("-cf", dest="config_file", default=DEFAULT_CONFIG, metavar="FILE")
    parser.add_argument("-lf", dest="lease_file", metavar="FILE",
                        help="isc-dhcpd lease file: imported into the database when the database holds no lease")
    parser.add_argument("-pf", dest="pid_file", metavar="FILE")
    parser.add_argument("--db", dest="db_url", default=os.environ.get("DHCPD_DB_URL", DEFAULT_DB_URL),
                        metavar="URL", help=f"SQLAlchemy URL of the lease database (default {DEFAULT_DB_URL})")
    parser.add_argument("--api", default=os.environ.get("DHCPD_API", DEFAULT_API), metavar="ADDR:PORT",
                        help=f"REST API listener: ADDR:PORT, unix:PATH or off (default {DEFAULT_API})")
    parser.add_argument("--api-token", default=os.environ.get("DHCPD_API_TOKEN"), metavar="TOKEN",
                        help="bearer token for API changes, and for every API call on a non-loopback address "
                             "(default: $DHCPD_API_TOKEN)")
    add_abuse_limits(parser)
    parser.add_argument("--durability", choices=DURABILITY_LEVELS, default="power-loss",
                        help="what an acknowledged lease survives: power-loss (default; the commit reaches the disk) "
                             "or crash (the commit reaches the operating system: a killed server loses nothing, "
                             "a power cut may lose the last leases); README.md, Durability")
    parser.add_argument("interfaces", nargs="*", help="serve only these interfaces")
    return parser


def rate_argument(text: str) -> Rate | None:
    try:
        return parse_rate(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def percent_argument(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / 100
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not between 0% and 100%")
    return value


def add_abuse_limits(parser: argparse.ArgumentParser) -> None:
    """Rate limits (N/s, N/m, N/h or off) and the DECLINE guard; README.md, "Limits against abuse"."""
    parser.add_argument("--rate-limit-mac", type=rate_argument, default="50/s", metavar="RATE",
                        help="requests per client MAC (default 50/s)")
    parser.add_argument("--rate-limit-link", type=rate_argument, default="off", metavar="RATE",
                        help="requests per link: interface, VLAN and relay address (default off)")
    parser.add_argument("--decline-limit-mac", type=rate_argument, default="10/h", metavar="RATE",
                        help="DHCPDECLINEs per client MAC (default 10/h)")
    parser.add_argument("--decline-limit", type=percent_argument, default="25%", metavar="PERCENT",
                        help="most of a subnet's pool addresses that may be declined at once (default 25%%)")


def export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dhcpd export-leases",
                                     description="Write the lease database in isc-dhcpd's dhcpd.leases format.")
    parser.add_argument("--db", dest="db_url", default=os.environ.get("DHCPD_DB_URL", DEFAULT_DB_URL), metavar="URL")
    parser.add_argument("-o", "--output", default="-", help="file to write (default: standard output)")
    return parser


def has_syslog() -> bool:
    return os.path.exists("/dev/log")


def setup_logging(debug: bool) -> Writer:
    """Log to stderr under -d (or without syslog), else to syslog; returns the matching per-message writer."""
    if debug or not has_syslog():
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%b %d %H:%M:%S"))
        packet_writer = stderr_writer()
    else:
        handler = logging.handlers.SysLogHandler("/dev/log", facility="daemon")
        handler.setFormatter(logging.Formatter("dhcpd[%(process)d]: %(message)s"))
        packet_writer = syslog_writer()
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return packet_writer


def read_config(path: str, report: Callable[[str], object]) -> Config | None:
    """The configuration at `path`, or None after reporting why it cannot be used (an unreadable file is a
    ConfigError too)."""
    try:
        return load(path)
    except ConfigError as error:
        report(str(error))
        return None


def check_config(path: str) -> int:
    config = read_config(path, lambda message: print(message, file=sys.stderr))
    if config is None:
        return 1
    for note in config.notes:
        print(f"{path}: note: {note}", file=sys.stderr)
    return 0


def export_leases(argv: list[str]) -> int:
    args = export_parser().parse_args(argv)
    store = LeaseStore(args.db_url)
    store.upgrade()
    leases = store.load_all()
    if args.output == "-":
        write_leases(leases, sys.stdout, now=time.time())
    else:
        with open(args.output, "w") as out:
            write_leases(leases, out, now=time.time())
    return 0


def daemonize() -> None:
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for descriptor in (0, 1, 2):
        os.dup2(devnull, descriptor)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["export-leases"]:
        return export_leases(argv[1:])
    args = argument_parser().parse_args(argv)
    if args.test_config:
        return check_config(args.config_file)
    packet_writer = setup_logging(args.debug)
    config = read_config(args.config_file, log.error)
    if config is None:
        return 1
    for note in config.notes:
        log.info("%s: accepted, has no effect here: %s", args.config_file, note)
    try:
        upgrade_schema_in_child(args.db_url)
    except SchemaUpgradeFailed as error:
        log.error("%s", error)
        return 1
    store = LeaseStore(args.db_url, args.durability)
    if args.lease_file:
        try:
            import_lease_file(store, args.lease_file)
        except ParseError as error:
            log.error("%s", error)
            return 1
    if args.test_leases:
        return 0
    try:
        listener = open_listener(args.api, args.api_token)
    except ApiListenError as error:
        log.error("%s", error)
        return 1
    services = [] if listener is None else [functools.partial(serve_api, listener=listener, token=args.api_token)]
    if not (args.foreground or args.debug):
        daemonize()
    if args.pid_file:
        write_pid_file(args.pid_file)
    settings = Settings(args.config_file, args.db_url, frozenset(args.interfaces), args.lease_file, args.pid_file,
                        rate_limit_mac=args.rate_limit_mac, rate_limit_link=args.rate_limit_link,
                        decline_limit_mac=args.decline_limit_mac, decline_max_fraction=args.decline_limit,
                        log_writer=packet_writer)
    try:
        # uvloop's event loop (libuv) costs less CPU per loop turn than asyncio's own; the server runs a turn for
        # nearly every packet (measured: 633k -> 592k instructions per DORA, bench.packet_path --whole-path --commit).
        uvloop.run(serve(settings, config, store, *services))
    finally:
        store.close()
        if args.pid_file:
            remove_pid_file(args.pid_file)
    return 0


def remove_pid_file(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
