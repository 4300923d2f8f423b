"""Bearer tokens (401 on anything wrong), the --api listener rules, and the read-only views: subnets,
interfaces, stats, config, config test and reload, health, Prometheus metrics, OpenAPI."""

from __future__ import annotations

import asyncio
import socket

import pytest

from api.service import ApiListenError, _first_connection, open_listener
from tests.unit.api_backend import TOKEN, authorized, make_client

pytestmark = pytest.mark.unit
LEASE = {"ip": "10.20.1.120", "mac": "02:00:00:00:00:01", "expires": "2099-01-01T00:00:00Z"}


@pytest.mark.parametrize("headers", [{}, authorized("wrong"), {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN}])
def test_changes_without_the_right_token_get_401_and_change_nothing(server, headers):
    client = make_client(server)
    for response in (client.post("/api/v1/leases", json=LEASE, headers=headers),
                     client.delete("/api/v1/leases/10.20.1.120", headers=headers),
                     client.post("/api/v1/config/reload", headers=headers)):
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert len(server.engine.leases) == 0
    assert client.get("/api/v1/leases").status_code == 200


def test_without_a_configured_token_the_api_is_read_only(server):
    client = make_client(server, token=None)
    refused = client.post("/api/v1/leases", json=LEASE, headers=authorized())
    assert refused.status_code == 401 and "read-only" in refused.json()["detail"]
    assert client.get("/api/v1/health").status_code == 200


def test_reads_need_the_token_when_listening_beyond_loopback(server):
    client = make_client(server, reads_need_token=True)
    assert client.get("/api/v1/leases").status_code == 401
    assert client.get("/metrics").status_code == 401
    assert client.get("/api/v1/leases", headers=authorized()).status_code == 200


def test_non_loopback_listener_needs_a_token_and_bad_addresses_are_explained(tmp_path):
    with pytest.raises(ApiListenError, match="needs --api-token"):
        open_listener("0.0.0.0:0", None)
    with pytest.raises(ApiListenError, match="expected ADDR:PORT"):
        open_listener("localhost:http", None)
    assert open_listener("off", None) is None
    unix = open_listener(f"unix:{tmp_path / 'api.sock'}", None)
    loopback = open_listener("127.0.0.1:0", None)
    try:
        assert unix.loopback and unix.socket.family == socket.AF_UNIX
        assert loopback.loopback and loopback.socket.getsockname()[0] == "127.0.0.1"
    finally:
        unix.socket.close()
        loopback.socket.close()


def test_the_web_stack_waits_for_a_first_connection_and_leaves_it_to_be_accepted(tmp_path):
    listener = open_listener(f"unix:{tmp_path / 'api.sock'}", None)

    async def scenario() -> bool:
        waiting = asyncio.ensure_future(_first_connection(listener.socket))
        await asyncio.sleep(0.05)
        idle = not waiting.done()
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(tmp_path / "api.sock"))
            await asyncio.wait_for(waiting, 5)
            accepted, _ = listener.socket.accept()
            accepted.close()
        return idle

    try:
        assert asyncio.run(scenario())
    finally:
        listener.socket.close()


def test_subnets_count_used_and_declined_addresses(server):
    client = make_client(server)
    client.post("/api/v1/leases", json=LEASE, headers=authorized())
    client.post("/api/v1/leases", json={**LEASE, "ip": "10.20.1.121", "state": "declined"}, headers=authorized())
    first = client.get("/api/v1/subnets").json()[0]
    assert first == {"id": "10.20.1.0/24", "shared_network": None, "size": 50, "used": 1, "free": 48,
                     "declined": 1, "utilisation": 0.02}


def test_interfaces_say_whether_and_why_not_served(server):
    server.stats.links["s1"].requests += 3
    links = {link["name"]: link for link in make_client(server).get("/api/v1/interfaces").json()}
    assert links["s1"]["served"] and links["s1"]["requests"] == 3 and links["s1"]["addresses"] == ["10.20.1.1/24"]
    assert links["s1.5"]["why_not_served"] == "down" and links["s1.5"]["vlan_id"] == 5 and links["s1.5"]["lower"] == "s1"
    assert links["trunk"]["why_not_served"] == "no address in a declared subnet"


def test_stats_and_metrics_show_the_packet_counters(server):
    server.stats.received["DHCPDISCOVER"] += 4
    server.stats.drop("malformed:short", "s1")
    server.stats.drop("no-free-leases", "s1")
    client = make_client(server)
    stats = client.get("/api/v1/stats").json()
    assert stats["received"] == {"DHCPDISCOVER": 4} and stats["parse_failures"] == 1
    assert stats["allocation_failures"] == 1
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'dhcpd_packets_received_total{type="DHCPDISCOVER"} 4' in metrics.text
    assert 'dhcpd_subnet_addresses{subnet="10.20.1.0/24"} 50' in metrics.text


def test_config_is_shown_checked_with_line_numbers_and_reloaded(server, tmp_path):
    client = make_client(server)
    shown = client.get("/api/v1/config").json()
    assert [subnet["id"] for subnet in shown["subnets"]] == ["10.20.1.0/24", "10.20.2.0/24"]
    assert shown["hosts"][0]["fixed_addresses"] == ["10.20.1.50"]
    bad = "subnet 10.0.0.0 netmask 255.255.255.0 {\n  range 10.1.0.1 10.1.0.5;\n}\n"
    checked = client.post("/api/v1/config/test", content=bad, headers=authorized()).json()
    assert not checked["ok"] and checked["problems"][0]["line"] == 2
    (tmp_path / "dhcpd.conf").write_text(bad)
    refused = client.post("/api/v1/config/reload", headers=authorized())
    assert refused.status_code == 422 and refused.json()["problems"][0]["line"] == 2
    assert len(server.engine.config.subnets) == 2
    (tmp_path / "dhcpd.conf").write_text("subnet 10.20.1.0 netmask 255.255.255.0 { range 10.20.1.10 10.20.1.20; }\n")
    assert client.post("/api/v1/config/reload", headers=authorized()).json()["ok"]
    assert [subnet.id for subnet in server.engine.config.subnets] == ["10.20.1.0/24"]


def test_health_and_openapi(server):
    client = make_client(server)
    assert client.get("/api/v1/health").json()["database"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/leases/{ip}" in paths and "/metrics" in paths
    assert client.get("/docs").status_code == 200
