#!/bin/sh
# dhcpcd -c script for tests: dhcpcd sets the address itself; this replaces its hooks (so no resolv.conf,
# hostname or NTP changes) and appends "REASON ADDRESS" to $HARNESS_EVENTS.
echo "$reason ${new_ip_address:-$old_ip_address}" >> "$HARNESS_EVENTS"
