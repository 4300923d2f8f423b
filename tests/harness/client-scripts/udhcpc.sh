#!/bin/sh
# udhcpc -s script for tests: sets only the address and appends "EVENT ADDRESS" to $HARNESS_EVENTS.
case "$1" in
    deconfig)
        ip link set dev "$interface" up
        ip -4 address flush dev "$interface" scope global
        ;;
    bound|renew)
        ip -4 address replace "$ip/$mask" dev "$interface"
        ;;
esac
echo "$1 $ip" >> "$HARNESS_EVENTS"
