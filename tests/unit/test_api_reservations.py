"""Reservations through the API: stored, checked for conflicts, and what the engine offers next, also by
relay circuit id; they survive a restart (a new Server on the same database)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface

import pytest

from dhcpd.engine.types import Ingress
from dhcpd.server import Server
from dhcpd.wire.message import DhcpMessage, MessageType
from tests.unit.api_backend import authorized, make_client, make_server

pytestmark = pytest.mark.unit
S1 = Ingress("s1", 2, (IPv4Interface("10.20.1.1/24"),))
S0 = Ingress("s0", 5, (IPv4Interface("10.20.9.1/24"),))
MAC = "02:00:00:00:00:05"


def offer(server: Server, mac: str, ingress: Ingress = S1, **fields) -> DhcpMessage:
    options = {53: bytes([MessageType.DISCOVER]), **fields.pop("options", {})}
    message = DhcpMessage(xid=1, chaddr=bytes.fromhex(mac.replace(":", "")), options=options, **fields)
    return server.engine.handle(message, ingress, 1000.0).reply


def test_reservation_is_what_the_next_discover_is_offered_with_its_options(client, server):
    created = client.post("/api/v1/reservations", json={"ip": "10.20.1.60", "mac": MAC, "hostname": "cam",
                                                        "options": {"routers": "10.20.1.2"}}, headers=authorized())
    assert created.status_code == 201, created.text
    reply = offer(server, MAC)
    assert reply.yiaddr == IPv4Address("10.20.1.60")
    assert reply.options[3] == IPv4Address("10.20.1.2").packed and reply.options[12] == b"cam"
    assert offer(server, "02:00:00:00:00:07").yiaddr != IPv4Address("10.20.1.60")
    reservation_id = created.json()["id"]
    assert client.get(f"/api/v1/reservations/{reservation_id}").json()["subnet"] == "10.20.1.0/24"


def test_circuit_id_reservation_matches_the_relay_agent_circuit(tmp_path):
    server = make_server(tmp_path, "subnet 10.20.9.0 netmask 255.255.255.0 { range 10.20.9.100 10.20.9.150; }\n")
    client = make_client(server)
    client.post("/api/v1/reservations", json={"ip": "10.20.9.77", "circuit_id": "70:6f:72:74:31"}, headers=authorized())
    agent = {82: bytes([1, 5]) + b"port1"}
    relay = IPv4Address("10.20.9.1")
    assert offer(server, "02:00:00:00:00:31", S0, giaddr=relay, options=agent).yiaddr == IPv4Address("10.20.9.77")
    other = {82: bytes([1, 5]) + b"port2"}
    assert offer(server, "02:00:00:00:00:32", S0, giaddr=relay, options=other).yiaddr != IPv4Address("10.20.9.77")


def test_update_and_delete_take_effect_for_the_next_request(client, server):
    reservation_id = client.post("/api/v1/reservations", json={"ip": "10.20.1.60", "mac": MAC},
                                 headers=authorized()).json()["id"]
    moved = client.put(f"/api/v1/reservations/{reservation_id}", json={"ip": "10.20.1.61", "mac": MAC},
                       headers=authorized())
    assert moved.status_code == 200 and offer(server, MAC).yiaddr == IPv4Address("10.20.1.61")
    assert client.delete(f"/api/v1/reservations/{reservation_id}", headers=authorized()).status_code == 204
    assert offer(server, MAC).yiaddr not in (IPv4Address("10.20.1.60"), IPv4Address("10.20.1.61"))
    assert client.get(f"/api/v1/reservations/{reservation_id}").status_code == 404


@pytest.mark.parametrize("body, status, reason", [
    ({"ip": "10.20.1.61", "mac": MAC}, 409, "already has this MAC"),
    ({"ip": "10.20.1.60", "mac": "02:00:00:00:00:08"}, 409, "already has this address"),
    ({"ip": "10.20.1.50", "mac": "02:00:00:00:00:08"}, 409, "dhcpd.conf host printer"),
    ({"ip": "10.20.1.62", "mac": "02:00:00:00:00:99"}, 409, "dhcpd.conf host printer"),
    ({"ip": "10.30.0.1", "mac": "02:00:00:00:00:08"}, 422, "outside every declared subnet"),
    ({"ip": "10.20.1.62", "mac": "02:00:00:00:00:08", "options": {"routers": "not-an-address"}}, 422, "routers"),
    ({"ip": "10.20.1.62", "mac": "02:00:00:00:00:08", "options": {"routers": "1.2.3.4; include \"/x\""}}, 422, "no ;"),
    ({"ip": "10.20.1.62"}, 422, "needs a mac, a client_id or a circuit_id"),
    ({"ip": "10.20.1.62", "mac": MAC, "fixed": True}, 422, "Extra inputs"),
])
def test_conflicting_or_invalid_reservation_is_refused_with_a_reason(client, server, body, status, reason):
    client.post("/api/v1/reservations", json={"ip": "10.20.1.60", "mac": MAC}, headers=authorized())
    response = client.post("/api/v1/reservations", json=body, headers=authorized())
    assert response.status_code == status and reason in response.text
    assert [record.ip for record in server.store.reservations.all()] == [IPv4Address("10.20.1.60")]


def test_address_leased_to_another_client_cannot_be_reserved(client, server):
    client.post("/api/v1/leases", json={"ip": "10.20.1.120", "mac": "02:00:00:00:00:aa",
                                        "expires": "2099-01-01T00:00:00Z"}, headers=authorized())
    refused = client.post("/api/v1/reservations", json={"ip": "10.20.1.120", "mac": MAC}, headers=authorized())
    assert refused.status_code == 409 and "02:00:00:00:00:aa" in refused.json()["detail"]
    same_client = client.post("/api/v1/reservations", json={"ip": "10.20.1.120", "mac": "02:00:00:00:00:aa"},
                              headers=authorized())
    assert same_client.status_code == 201


def test_reservations_survive_a_restart_and_page_by_id(client, server, tmp_path):
    for n in range(5):
        client.post("/api/v1/reservations", json={"ip": f"10.20.1.{60 + n}", "mac": f"02:00:00:00:01:0{n}"},
                    headers=authorized())
    first = client.get("/api/v1/reservations", params={"limit": 3}).json()
    rest = client.get("/api/v1/reservations", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [r["ip"] for r in first["reservations"] + rest["reservations"]] == [f"10.20.1.{60 + n}" for n in range(5)]
    assert rest["next_cursor"] is None
    restarted = make_server(tmp_path)
    assert offer(restarted, "02:00:00:00:01:03").yiaddr == IPv4Address("10.20.1.63")
