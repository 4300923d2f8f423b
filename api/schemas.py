"""Request and response bodies of the API (pydantic): addresses and MACs as strings, times ISO 8601 UTC.

Binary identifiers (MAC, client id, circuit id, remote id) are colon-separated hex, as isc-dhcpd writes
them. Every input model forbids unknown fields, so a misspelt field is a 422, never silently ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from dhcpd.leases.record import Lease, LeaseLink, LeaseState
from dhcpd.leases.reservations import ReservationRecord

HEX_PAIR = "[0-9A-Fa-f]{2}"


def _normalized_hex(text: str) -> str:
    return bytes.fromhex(text.replace(":", "").replace("-", "")).hex(":")


Mac = Annotated[str, Field(pattern=f"^{HEX_PAIR}([:-]?{HEX_PAIR}){{5}}$", examples=["02:00:00:00:00:01"]),
                AfterValidator(_normalized_hex)]
HexBytes = Annotated[str, Field(pattern=f"^{HEX_PAIR}(:?{HEX_PAIR}){{0,254}}$", examples=["01:02:00:00:00:00:01"]),
                     AfterValidator(_normalized_hex)]
Hostname = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$")]
InterfaceName = Annotated[str, Field(min_length=1, max_length=64)]
VlanId = Annotated[int, Field(ge=0, le=4095)]


def to_bytes(text: str | None) -> bytes | None:
    return None if text is None else bytes.fromhex(text.replace(":", ""))


def to_hex(data: bytes | None) -> str | None:
    return None if data is None else data.hex(":")


def to_time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- leases -------------------------------------------------------------------------------------------


class LeaseChange(Input):
    """A lease's contents; PUT /leases/{ip} takes this, POST /leases takes it with the address."""

    mac: Mac | None = None
    client_id: HexBytes | None = None
    hostname: Hostname | None = None
    state: LeaseState = LeaseState.ACTIVE
    starts: AwareDatetime | None = Field(None, description="default: now")
    expires: AwareDatetime
    interface: InterfaceName | None = None
    vlan: VlanId | None = None
    relay: IPv4Address | None = None
    circuit_id: HexBytes | None = None
    remote_id: HexBytes | None = None

    @model_validator(mode="after")
    def _identified_and_ordered(self) -> LeaseChange:
        if self.mac is None and self.client_id is None:
            raise ValueError("a lease needs a mac or a client_id")
        if self.starts is not None and self.expires < self.starts:
            raise ValueError("expires is before starts")
        return self

    def to_lease(self, ip: IPv4Address, now: float) -> Lease:
        return Lease(
            ip=ip, state=self.state, starts=self.starts.timestamp() if self.starts else now,
            expires=self.expires.timestamp(), mac=to_bytes(self.mac), client_id=to_bytes(self.client_id),
            hostname=self.hostname, link=LeaseLink(interface=self.interface, vlan=self.vlan, relay=self.relay),
            circuit_id=to_bytes(self.circuit_id), remote_id=to_bytes(self.remote_id),
        )


class NewLease(LeaseChange):
    ip: IPv4Address


class LeaseOut(BaseModel):
    ip: IPv4Address
    mac: str | None
    client_id: str | None
    hostname: str | None
    state: LeaseState
    starts: datetime
    expires: datetime
    interface: str | None
    vlan: int | None
    relay: IPv4Address | None
    circuit_id: str | None
    remote_id: str | None
    subnet: str | None

    @classmethod
    def of(cls, lease: Lease) -> LeaseOut:
        return cls(
            ip=lease.ip, mac=to_hex(lease.mac), client_id=to_hex(lease.client_id), hostname=lease.hostname,
            state=lease.state, starts=to_time(lease.starts), expires=to_time(lease.expires),
            interface=lease.interface, vlan=lease.vlan, relay=lease.relay, circuit_id=to_hex(lease.circuit_id),
            remote_id=to_hex(lease.remote_id), subnet=lease.subnet,
        )


class LeaseQuery(Input):
    """Filters (exact match) and paging of GET /leases."""

    mac: Mac | None = None
    client_id: HexBytes | None = None
    hostname: Hostname | None = None
    interface: InterfaceName | None = None
    vlan: VlanId | None = None
    subnet: IPv4Network | None = None
    state: LeaseState | None = None
    limit: int = Field(100, ge=1, le=10000)
    cursor: IPv4Address | None = Field(None, description="next_cursor of the previous page")


class LeasePage(BaseModel):
    leases: list[LeaseOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on the last page")


class Deleted(BaseModel):
    deleted: int


# -- reservations -------------------------------------------------------------------------------------


class ReservationIn(Input):
    """A fixed address for a client known by MAC, client id or relay circuit id (at least one)."""

    ip: IPv4Address
    mac: Mac | None = None
    client_id: HexBytes | None = None
    circuit_id: HexBytes | None = None
    hostname: Hostname | None = None
    options: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=1024)]] = Field(
        default_factory=dict, description='values as written in dhcpd.conf, e.g. {"routers": "10.0.0.1"}')

    @model_validator(mode="after")
    def _identified(self) -> ReservationIn:
        if self.mac is None and self.client_id is None and self.circuit_id is None:
            raise ValueError("a reservation needs a mac, a client_id or a circuit_id")
        return self

    def to_record(self, reservation_id: int | None = None) -> ReservationRecord:
        return ReservationRecord(
            ip=self.ip, mac=to_bytes(self.mac), client_id=to_bytes(self.client_id),
            circuit_id=to_bytes(self.circuit_id), hostname=self.hostname, options=dict(self.options),
            id=reservation_id,
        )


class ReservationOut(BaseModel):
    id: int
    ip: IPv4Address
    mac: str | None
    client_id: str | None
    circuit_id: str | None
    hostname: str | None
    options: dict[str, str]
    subnet: str | None
    created_at: datetime

    @classmethod
    def of(cls, record: ReservationRecord) -> ReservationOut:
        return cls(
            id=record.id, ip=record.ip, mac=to_hex(record.mac), client_id=to_hex(record.client_id),
            circuit_id=to_hex(record.circuit_id), hostname=record.hostname, options=record.options or {},
            subnet=record.subnet, created_at=to_time(record.created_at),
        )


class ReservationPage(BaseModel):
    reservations: list[ReservationOut]
    next_cursor: int | None


# -- views --------------------------------------------------------------------------------------------


class SubnetOut(BaseModel):
    id: str
    shared_network: str | None
    size: int = Field(description="addresses in the subnet's pools")
    used: int = Field(description="active, unexpired leases")
    free: int
    declined: int = Field(description="declined or abandoned addresses still on probation")
    utilisation: float = Field(description="used / size")


class InterfaceOut(BaseModel):
    index: int
    name: str
    kind: str
    mac: str
    up: bool
    vlan_id: int | None
    master: str | None
    lower: str | None
    addresses: list[str]
    served: bool
    why_not_served: str | None
    requests: int
    replies: int
    drops: dict[str, int]


class StatsOut(BaseModel):
    received: dict[str, int] = Field(description="packets received by message type")
    sent: dict[str, int] = Field(description="packets sent by message type")
    parse_failures: int
    drops: dict[str, int] = Field(description="packets dropped, by reason")
    allocation_failures: int = Field(description="DISCOVERs answered with no free address")
    commit_failures: int
    transmit_errors: dict[str, int]
    leases_in_memory: int


class Problem(BaseModel):
    file: str
    line: int
    message: str


class ConfigCheck(BaseModel):
    ok: bool
    problems: list[Problem]
    notes: list[str]


class Health(BaseModel):
    status: str
    database: str
    leases_in_memory: int
    reservations: int
