"""Turns run outcomes into rows (median over repetitions), a Markdown table, ratios of ours to each other
server at the same link count, and a JSON-ready summary."""

import statistics
from dataclasses import asdict, dataclass

from bench.run import RunOutcome
from bench.search import Step

COLUMNS = [
    ("server", "server"), ("links", "links"), ("leases", "leases at start"), ("runs_ok", "runs ok"),
    ("offered_per_second", "offered/s"), ("dora_per_second", "DORA/s done"),
    ("offer_p50_ms", "OFFER p50 ms"), ("offer_p99_ms", "OFFER p99 ms"),
    ("ack_p50_ms", "ACK p50 ms"), ("ack_p99_ms", "ACK p99 ms"),
    ("half_offer_p99_ms", "OFFER p99 at ½ ms"), ("half_ack_p99_ms", "ACK p99 at ½ ms"),
    ("cpu_us_per_dora", "CPU µs/DORA"), ("start_rss_mib", "RSS at start MiB"), ("peak_rss_mib", "VmHWM MiB"),
    ("api_rss_mib", "RSS after API MiB"), ("open_fds", "fds"),
    ("packet_sockets", "pkt socks"), ("startup_seconds", "start s"), ("note", "note"),
]
RATIO_FIELDS = ["dora_per_second", "cpu_us_per_dora", "start_rss_mib", "peak_rss_mib", "startup_seconds"]


@dataclass
class Row:
    """One server at one link count: medians over the repetitions that started."""

    server: str
    links: int
    leases: int
    runs_ok: str
    offered_per_second: float | None = None
    dora_per_second: float | None = None
    offer_p50_ms: float | None = None
    offer_p99_ms: float | None = None
    ack_p50_ms: float | None = None
    ack_p99_ms: float | None = None
    half_offer_p99_ms: float | None = None
    half_ack_p99_ms: float | None = None
    cpu_us_per_dora: float | None = None
    start_rss_mib: float | None = None
    peak_rss_mib: float | None = None
    api_rss_mib: float | None = None
    open_fds: float | None = None
    packet_sockets: float | None = None
    startup_seconds: float | None = None
    note: str = ""


def _median(values) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def summarize(outcomes: list[RunOutcome]) -> Row:
    """The row for the repetitions of one server at one link count."""
    started = [outcome for outcome in outcomes if outcome.error is None]
    loaded = [outcome.best for outcome in started if outcome.best is not None]
    row = Row(outcomes[0].server, outcomes[0].links, outcomes[0].leases, f"{len(started)}/{len(outcomes)}")
    errors = sorted({outcome.error for outcome in outcomes if outcome.error})
    row.note = "; ".join(errors) or ("" if loaded else "no rate with loss < 1%")
    row.offered_per_second = _median(step.load.rate for step in loaded)
    row.dora_per_second = _median(step.load.completed_per_second for step in loaded)
    row.offer_p50_ms = _median(step.load.discover_offer.percentile(0.50) for step in loaded)
    row.offer_p99_ms = _median(step.load.discover_offer.percentile(0.99) for step in loaded)
    row.ack_p50_ms = _median(step.load.request_ack.percentile(0.50) for step in loaded)
    row.ack_p99_ms = _median(step.load.request_ack.percentile(0.99) for step in loaded)
    halves = [outcome.half_rate for outcome in started if outcome.half_rate is not None]
    row.half_offer_p99_ms = _median(step.load.discover_offer.percentile(0.99) for step in halves)
    row.half_ack_p99_ms = _median(step.load.request_ack.percentile(0.99) for step in halves)
    row.cpu_us_per_dora = _median(step.cpu_microseconds_per_dora for step in loaded)
    row.start_rss_mib = _median(o.start_rss_kib / 1024 if o.start_rss_kib else None for o in started)
    row.peak_rss_mib = _median(o.peak_rss_kib / 1024 if o.peak_rss_kib else None for o in started)
    row.api_rss_mib = _median(o.api_rss_kib / 1024 if o.api_rss_kib else None for o in started)
    row.open_fds = _median(outcome.open_fds for outcome in started)
    row.packet_sockets = _median(outcome.packet_sockets for outcome in started)
    row.startup_seconds = _median(outcome.startup_seconds for outcome in started)
    return row


def ratios(rows: list[Row], ours: str = "ours") -> list[dict]:
    """For each link count with a measured `ours` row: ours / other for throughput, CPU, memory, start-up."""
    found = []
    for mine in (row for row in rows if row.server == ours and row.dora_per_second is not None):
        for other in (row for row in rows if row.links == mine.links and row.server != ours):
            ratio = {"links": mine.links, "versus": other.server}
            for name in RATIO_FIELDS:
                numerator, denominator = getattr(mine, name), getattr(other, name)
                ratio[name] = numerator / denominator if numerator is not None and denominator else None
            found.append(ratio)
    return found


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.0f}" if value >= 100 else f"{value:.2f}"
    return str(value).replace("|", "/")


def markdown(rows: list[Row], ratio_rows: list[dict]) -> str:
    """The results table, then the ratio table when ours was measured."""
    lines = ["| " + " | ".join(title for _, title in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cell(getattr(row, name)) for name, _ in COLUMNS) + " |" for row in rows]
    if ratio_rows:
        lines += ["", "| ours / | links | DORA/s | CPU µs/DORA | RSS at start | VmHWM | start-up |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r['versus']} | {r['links']} | " + " | ".join(_cell(r[name]) for name in RATIO_FIELDS) + " |"
                  for r in ratio_rows]
    return "\n".join(lines)


def as_json(rows: list[Row], ratio_rows: list[dict], outcomes: list[RunOutcome]) -> dict:
    """Rows, ratios and every load step of every run, the half-rate step included (counts and delay percentiles,
    not per-packet delays)."""
    runs = [{"server": o.server, "links": o.links, "leases": o.leases, "error": o.error, "startup_seconds": o.startup_seconds,
             "steps": [_step_json(s) for s in o.steps],
             "half_rate": _step_json(o.half_rate) if o.half_rate is not None else None}
            for o in outcomes]
    return {"rows": [asdict(row) for row in rows], "ratios": ratio_rows, "runs": runs}


def _step_json(step: Step) -> dict:
    load = step.load
    return {"rate": load.rate, "seconds": load.seconds, "discovers_sent": load.discover_offer.sent,
            "offers": load.discover_offer.received, "requests_sent": load.request_ack.sent,
            "acks": load.request_ack.received, "loss": load.loss, "server_cpu_seconds": step.server_cpu_seconds,
            "offer_p50_ms": load.discover_offer.percentile(0.50), "offer_p99_ms": load.discover_offer.percentile(0.99),
            "ack_p50_ms": load.request_ack.percentile(0.50), "ack_p99_ms": load.request_ack.percentile(0.99)}
