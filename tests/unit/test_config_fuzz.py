"""The dhcpd.conf reader ends on any input: a Config or a ConfigError, never a hang or another exception.

A stray '}' at the top level once made it loop forever (and `POST /api/v1/config/test` with it).
"""

import signal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dhcpd.config.errors import ConfigError
from dhcpd.config.parser import parse_text

pytestmark = pytest.mark.unit

WORDS = ["subnet", "10.0.0.0", "netmask", "255.255.255.0", "range", "10.0.0.5", "10.0.0.9", "host", "h1",
         "hardware", "ethernet", "02:00:00:00:00:01", "fixed-address", "option", "routers", "domain-name",
         '"x"', "pool", "group", "shared-network", "class", '"c"', "match", "if", "else", "elsif", "substring",
         "(", ")", ",", "=", "{", "}", ";", "authoritative", "not", "default-lease-time", "600", "trunk", "vlan",
         "include", "allow", "deny", "members", "of", "#", "\n", "0", "-1", "on", "commit"]


class TookTooLong(Exception):
    pass


def _alarm(signum, frame):
    raise TookTooLong


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=40))
def test_any_token_soup_ends_with_a_config_or_a_config_error(words):
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(5)
    try:
        parse_text(" ".join(words), "soup.conf")
    except ConfigError as error:
        assert all(problem.line >= 1 for problem in error.problems)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
