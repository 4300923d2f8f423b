#!/bin/sh
# dhclient -sf script for tests: sets only the address (no routes, no resolv.conf, no hostname)
# and appends "REASON ADDRESS" to $HARNESS_EVENTS so the harness can see what happened.
case "$reason" in
    PREINIT)
        ip link set dev "$interface" up
        ;;
    BOUND|RENEW|REBIND|REBOOT)
        if [ -n "$old_ip_address" ] && [ "$old_ip_address" != "$new_ip_address" ]; then
            ip -4 address del "$old_ip_address/$old_subnet_mask" dev "$interface" 2>/dev/null
        fi
        ip -4 address replace "$new_ip_address/$new_subnet_mask" dev "$interface"
        ;;
    EXPIRE|FAIL|RELEASE|STOP)
        if [ -n "$old_ip_address" ]; then
            ip -4 address del "$old_ip_address/$old_subnet_mask" dev "$interface" 2>/dev/null
        fi
        ;;
esac
echo "$reason ${new_ip_address:-$old_ip_address}" >> "$HARNESS_EVENTS"
# A TIMEOUT asks whether a lease remembered from an earlier run may be used: never, a test wants the server's answer.
[ "$reason" != TIMEOUT ]
