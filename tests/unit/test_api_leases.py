"""Leases through the API against a real engine and store: add, conflict, validation, paging, delete, wipe."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from dhcpd.leases.record import Lease, LeaseLink, LeaseState
from tests.unit.api_backend import authorized

pytestmark = pytest.mark.unit
FAR = "2099-01-01T00:00:00Z"


def new_lease(ip: str, mac: str = "02:00:00:00:00:01", **fields) -> dict:
    return {"ip": ip, "mac": mac, "expires": FAR, **fields}


def test_added_lease_is_listed_read_and_claimed_in_the_engine(client, server):
    created = client.post("/api/v1/leases", json=new_lease("10.20.1.120", interface="s1", vlan=5), headers=authorized())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["subnet"] == "10.20.1.0/24" and body["expires"] == FAR and body["interface"] == "s1"
    assert client.get("/api/v1/leases/10.20.1.120").json() == body
    assert client.get("/api/v1/leases", params={"interface": "s1"}).json()["leases"] == [body]
    assert not server.engine.leases.is_free(IPv4Address("10.20.1.120"), 0)
    assert server.store.get(IPv4Address("10.20.1.120")).mac == bytes.fromhex("020000000001")


def test_address_in_use_is_refused_with_409_and_nothing_changes(client, server):
    client.post("/api/v1/leases", json=new_lease("10.20.1.120"), headers=authorized())
    refused = client.post("/api/v1/leases", json=new_lease("10.20.1.120", mac="02:00:00:00:00:02"), headers=authorized())
    assert refused.status_code == 409 and "active until" in refused.json()["detail"]
    assert server.store.get(IPv4Address("10.20.1.120")).mac == bytes.fromhex("020000000001")


@pytest.mark.parametrize("body, reason", [
    (new_lease("10.99.0.5"), "outside every declared subnet"),
    (new_lease("10.20.1.255"), "broadcast"),
    (new_lease("10.20.1.50"), "reserved for host printer"),
    (new_lease("10.20.1.120", mac="02:00:00:00:00"), "pattern"),
    (new_lease("10.20.1.120", colour="red"), "Extra inputs"),
    ({"ip": "10.20.1.120", "expires": FAR}, "needs a mac or a client_id"),
    (new_lease("10.20.1.120", expires="2099-01-01T00:00:00"), "timezone"),
])
def test_bad_lease_is_refused_with_its_reason_and_nothing_is_written(client, server, body, reason):
    response = client.post("/api/v1/leases", json=body, headers=authorized())
    assert response.status_code in (409, 422) and reason in response.text
    assert server.store.page(None, 10) == [] and len(server.engine.leases) == 0


def test_put_replaces_and_needs_an_existing_lease(client, server):
    assert client.put("/api/v1/leases/10.20.1.121", json={"mac": "02:00:00:00:00:03", "expires": FAR},
                      headers=authorized()).status_code == 404
    client.post("/api/v1/leases", json=new_lease("10.20.1.121"), headers=authorized())
    replaced = client.put("/api/v1/leases/10.20.1.121", json={"mac": "02:00:00:00:00:03", "expires": FAR,
                                                               "state": "declined"}, headers=authorized())
    assert replaced.status_code == 200 and replaced.json()["state"] == "declined"
    assert server.engine.leases.get(IPv4Address("10.20.1.121")).state is LeaseState.DECLINED


def test_delete_frees_the_address_at_once(client, server):
    client.post("/api/v1/leases", json=new_lease("10.20.1.122"), headers=authorized())
    assert client.delete("/api/v1/leases/10.20.1.122", headers=authorized()).status_code == 204
    assert server.engine.leases.is_free(IPv4Address("10.20.1.122"), 0)
    assert server.store.get(IPv4Address("10.20.1.122")) is None
    assert client.get("/api/v1/leases/10.20.1.122").status_code == 404
    assert client.delete("/api/v1/leases/10.20.1.122", headers=authorized()).status_code == 404


def test_paging_filters_and_cursor_walk_every_lease_once(client, server):
    leases = [Lease(IPv4Address(f"10.20.2.{n}"), LeaseState.ACTIVE, 0.0, 4e9, mac=bytes([2, 0, 0, 0, 0, n]),
                    link=LeaseLink(subnet="10.20.2.0/24", interface="s1.5" if n % 2 else "s1")) for n in range(100, 150)]
    server.store.save(leases)
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/leases", params={"limit": 7, "interface": "s1.5",
                                                     **({"cursor": cursor} if cursor else {})}).json()
        seen += [lease["ip"] for lease in page["leases"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"10.20.2.{n}" for n in range(101, 150, 2)]
    assert client.get("/api/v1/leases", params={"mac": "02-00-00-00-00-64"}).json()["leases"][0]["ip"] == "10.20.2.100"


def test_wiping_a_subnet_deletes_its_leases_only(client, server):
    for ip in ("10.20.1.130", "10.20.1.131", "10.20.2.130"):
        client.post("/api/v1/leases", json=new_lease(ip, mac=f"02:00:00:00:01:{ip[-2:]}"), headers=authorized())
    wiped = client.delete("/api/v1/subnets/10.20.1.0/24/leases", headers=authorized())
    assert wiped.json() == {"deleted": 2}
    assert [lease.ip for lease in server.store.load_all()] == [IPv4Address("10.20.2.130")]
    assert [lease.ip for lease in server.engine.leases] == [IPv4Address("10.20.2.130")]
    assert client.delete("/api/v1/subnets/10.9.9.0/24/leases", headers=authorized()).status_code == 404
    assert client.delete("/api/v1/subnets/nonsense/leases", headers=authorized()).status_code == 422
