"""/metrics in the Prometheus text exposition format: packet counters and per-subnet gauges."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from api.deps import AdminDep
from api.stats import current_stats

router = APIRouter(tags=["metrics"])
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for labels, value in samples:
            rendered = ",".join(f'{key}="{label(text)}"' for key, text in labels.items())
            self.lines.append(f"{name}{{{rendered}}} {value}" if rendered else f"{name} {value}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(admin: AdminDep) -> PlainTextResponse:
    stats = current_stats(admin.server)
    usage = await admin.subnet_usage()
    out = Exposition()
    out.family("dhcpd_packets_received_total", "counter", "DHCP packets received by message type",
               [({"type": kind}, n) for kind, n in sorted(stats.received.items())])
    out.family("dhcpd_packets_sent_total", "counter", "DHCP packets sent by message type",
               [({"type": kind}, n) for kind, n in sorted(stats.sent.items())])
    out.family("dhcpd_drops_total", "counter", "packets dropped by reason",
               [({"reason": reason}, n) for reason, n in sorted(stats.drops.items())])
    out.family("dhcpd_parse_failures_total", "counter", "frames that did not decode", [({}, stats.parse_failures)])
    out.family("dhcpd_commit_failures_total", "counter", "lease commits that failed", [({}, stats.commit_failures)])
    out.family("dhcpd_leases_in_memory", "gauge", "leases in the engine's index", [({}, stats.leases_in_memory)])
    for name, help_text, value_of in (
        ("dhcpd_subnet_addresses", "addresses in the subnet's pools", lambda u: u.size),
        ("dhcpd_subnet_used", "active leases in the subnet", lambda u: u.used),
        ("dhcpd_subnet_free", "free addresses in the subnet's pools", lambda u: u.free),
        ("dhcpd_subnet_declined", "declined addresses on probation", lambda u: u.declined),
        ("dhcpd_subnet_utilisation", "used / addresses", lambda u: u.utilisation),
    ):
        # a sample per declared subnet: made one at a time, not as a list of thousands for each family
        out.family(name, "gauge", help_text, (({"subnet": u.subnet.id}, value_of(u)) for u in usage))
    return PlainTextResponse(out.text(), media_type=CONTENT_TYPE)
