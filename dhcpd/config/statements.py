"""Which dhcpd.conf statements exist, where each may stand, and what kind of value each parameter takes.

Parameters are stored in `Scope.params` by their isc keyword with a typed value. `allow`/`deny`/`ignore`
outside a pool become boolean params named after their keyword (`deny bootp` -> params["bootp"] = False,
`allow unknown-clients` -> params["unknown-clients"] = True; `ignore` is stored like `deny`).
"""

INTEGER_PARAMS = frozenset({
    "default-lease-time", "max-lease-time", "min-lease-time", "ping-timeout", "ping-timeout-ms", "min-secs",
    "dynamic-bootp-lease-length", "local-port", "remote-port", "max-ack-delay", "delayed-ack",
    "adaptive-lease-time-threshold", "ping-cltt-secs", "abandon-lease-time",
})
BOOLEAN_PARAMS = frozenset({
    "one-lease-per-client", "ping-check", "use-host-decl-names", "get-lease-hostnames", "boot-unknown-clients",
    "always-broadcast", "always-reply-rfc1048", "stash-agent-options", "echo-client-id", "ignore-client-uids",
    "use-lease-addr-for-default-route",
})
ADDRESS_PARAMS = frozenset({"next-server", "server-identifier", "local-address", "server-address"})
TEXT_PARAMS = frozenset({"filename", "server-name", "lease-file-name", "pid-file-name", "vendor-option-space"})

# Accepted and recorded in Config.notes: they only matter for features this server does not have
# (DNS updates, syslog routing, OMAPI, lease-file formatting).
NOTED_STATEMENTS = frozenset({
    "log-facility", "db-time-format", "omapi-port", "update-static-leases", "update-conflict-detection",
    "update-optimization", "do-forward-updates", "ddns-ttl", "ddns-domainname", "ddns-rev-domainname",
    "ddns-hostname", "ddns-local-address4", "lease-id-format", "dhcp-cache-threshold", "dont-use-fsync",
})
# Noted only with these values; any other value asks for DNS updates, which are not supported.
NOTED_WITH_VALUE = {"ddns-update-style": frozenset({"none"}), "ddns-updates": frozenset({"off", "false"})}

ALLOW_DENY_PARAMS = frozenset({"unknown-clients", "known-clients", "bootp", "booting", "duplicates", "declines",
                               "leasequery"})
NOTED_ALLOW_DENY = frozenset({"client-updates"})

# hardware type keyword -> (htype, required address length or None for any length up to 16)
HARDWARE_TYPES = {"ethernet": (1, 6), "token-ring": (6, None), "fddi": (8, None), "infiniband": (32, None)}

GLOBAL, SHARED, SUBNET, POOL, GROUP, HOST, CLASS, SUBCLASS, CONDITIONAL = (
    "global scope", "shared-network", "subnet", "pool", "group", "host", "class", "subclass", "if block")
# declaration keyword -> the scope kinds it may be written in
PLACEMENT = {
    "shared-network": {GLOBAL, GROUP},
    "subnet": {GLOBAL, GROUP, SHARED},
    "group": {GLOBAL, GROUP, SHARED, SUBNET},
    "host": {GLOBAL, GROUP, SHARED, SUBNET},
    "class": {GLOBAL, GROUP},
    "subclass": {GLOBAL, GROUP},
    "pool": {SHARED, SUBNET},
    "range": {SUBNET, POOL},
    "hardware": {HOST},
    "fixed-address": {HOST},
    "match": {CLASS},
    "spawn": {CLASS},
    "lease": {CLASS},
    "trunk": {GLOBAL},              # dhcpd.config.trunks
    "server-address": {SUBNET},
}
