"""The REST API of the running server, in test namespaces: a real client's lease listed and deleted,
a reservation made through the API offered to the next DISCOVER, 100,000 leases paged without repeats or
gaps, wrong tokens refused, and a TCP listener reached from inside the namespace."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Network

import httpx
import pytest

from dhcpd.leases.record import Lease, LeaseLink, LeaseState
from dhcpd.leases.store import LeaseStore
from dhcpd.wire.message import MessageType
from tests.harness.clients import Dhclient
from tests.harness.pydhcpd import database_url, start_server
from tests.harness.rawclient import RawClient

pytestmark = pytest.mark.netns

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CONFIG = """
authoritative;
default-lease-time 600;
subnet 10.78.1.0 netmask 255.255.255.0 {
  range 10.78.1.100 10.78.1.199;
  option routers 10.78.1.1;
}
"""
BIG_CONFIG = "subnet 10.100.0.0 netmask 255.254.0.0 {\n  range 10.101.0.1 10.101.0.200;\n}\n"
LEASE_COUNT = 100_000
BATCH = 10_000


@pytest.fixture
def site(netns):
    server, client = netns("tapis"), netns("tapic")
    server.veth(client, "s1", "c1")
    server.add_address("s1", "10.78.1.1/24")
    return server, client


def api_client(namespace) -> httpx.Client:
    path = namespace.workdir / "api.sock"
    return httpx.Client(transport=httpx.HTTPTransport(uds=str(path)), base_url="http://dhcpd", timeout=30)


def start_with_api(namespace, config: str = CONFIG):
    args = ["--api", f"unix:{namespace.workdir / 'api.sock'}", "--api-token", TOKEN]
    return start_server(namespace, config, extra_args=args)


def discover(client: RawClient, xid: int, requested: IPv4Address | None = None) -> IPv4Address:
    options = {50: requested.packed} if requested is not None else {}
    client.send(client.request(MessageType.DISCOVER, xid, options=options))
    replies = client.replies(xid)
    assert replies, "no OFFER"
    return replies[0][0].yiaddr


def test_real_client_lease_is_listed_and_deleting_it_needs_the_token_and_frees_it(site):
    server, client_ns = site
    process = start_with_api(server)
    address = Dhclient(client_ns, "c1").acquire()
    assert address is not None, process.log()
    with api_client(server) as api:
        listed = api.get("/api/v1/leases", params={"interface": "s1"}).json()["leases"]
        assert [(lease["ip"], lease["state"], lease["interface"]) for lease in listed] == [(str(address), "active", "s1")]
        assert api.delete(f"/api/v1/leases/{address}").status_code == 401
        assert api.get(f"/api/v1/leases/{address}").status_code == 200
        assert api.delete(f"/api/v1/leases/{address}", headers=AUTH).status_code == 204
        assert api.get(f"/api/v1/leases/{address}").status_code == 404
    other = RawClient(client_ns, "c1", bytes.fromhex("020000780002"))
    try:
        assert discover(other, 41, requested=address) == address
    finally:
        other.close()


def test_reservation_added_through_the_api_is_offered_to_the_next_discover(site):
    server, client_ns = site
    start_with_api(server)
    mac = bytes.fromhex("020000780001")
    client = RawClient(client_ns, "c1", mac)
    try:
        assert discover(client, 1) != IPv4Address("10.78.1.42")
        with api_client(server) as api:
            created = api.post("/api/v1/reservations", headers=AUTH,
                               json={"ip": "10.78.1.42", "mac": mac.hex(":"), "hostname": "cam"})
            assert created.status_code == 201, created.text
            assert api.post("/api/v1/reservations", headers=AUTH, json={"ip": "10.79.0.1", "mac": "02:00:00:00:00:09"}
                            ).status_code == 422
        assert discover(client, 2) == IPv4Address("10.78.1.42")
    finally:
        client.close()


def test_wrong_or_missing_tokens_get_401(site):
    server, _ = site
    start_with_api(server)
    lease = {"ip": "10.78.1.150", "mac": "02:00:00:78:00:03", "expires": "2099-01-01T00:00:00Z"}
    with api_client(server) as api:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {TOKEN}x"}):
            assert api.post("/api/v1/leases", json=lease, headers=headers).status_code == 401
        assert api.get("/api/v1/leases/10.78.1.150").status_code == 404
        assert api.post("/api/v1/leases", json=lease, headers=AUTH).status_code == 201


@pytest.mark.slow
def test_paging_walks_100000_leases_without_repeats_or_gaps(netns):
    server = netns("tapip")
    (server.workdir / "pydhcpd").mkdir(parents=True, exist_ok=True)
    store = LeaseStore(database_url(server))
    store.upgrade()
    first = int(IPv4Address("10.100.0.1"))
    for start in range(0, LEASE_COUNT, BATCH):
        store.save([Lease(IPv4Address(first + n), LeaseState.ACTIVE, 0.0, 4e9, mac=(first + n).to_bytes(6, "big"),
                          link=LeaseLink(subnet="10.100.0.0/15")) for n in range(start, start + BATCH)])
    store.close()
    start_with_api(server, BIG_CONFIG)
    seen: list[str] = []
    cursor = None
    with api_client(server) as api:
        while True:
            params = {"limit": 5000, **({"cursor": cursor} if cursor else {})}
            page = api.get("/api/v1/leases", params=params).json()
            seen += [lease["ip"] for lease in page["leases"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert api.get("/api/v1/subnets").json()[0]["used"] == LEASE_COUNT
    assert seen == [str(IPv4Address(first + n)) for n in range(LEASE_COUNT)]


def test_tcp_listener_answers_inside_the_namespace(site):
    server, _ = site
    start_server(server, CONFIG, extra_args=["--api", "127.0.0.1:8067", "--api-token", TOKEN])
    health = server.run(["curl", "-sS", "http://127.0.0.1:8067/api/v1/health"])
    assert json.loads(health.stdout)["status"] == "ok"
    subnets = json.loads(server.run(["curl", "-sS", "http://127.0.0.1:8067/api/v1/subnets"]).stdout)
    assert [IPv4Network(subnet["id"]) for subnet in subnets] == [IPv4Network("10.78.1.0/24")]
    refused = server.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                          "http://127.0.0.1:8067/api/v1/config/reload"])
    assert refused.stdout == "401"
