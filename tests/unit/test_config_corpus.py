"""The config corpus under tests/unit/configs: good files parse, bad files give exactly the problems their
`# EXPECT [file] line N: text` comments list, and isc-dhcpd's own `dhcpd -t` gives the same verdicts.
"""

import re
import subprocess
from pathlib import Path

import pytest

from dhcpd.config.errors import ConfigError
from dhcpd.config.parser import load

pytestmark = pytest.mark.unit
CORPUS = Path(__file__).parent / "configs"
ETC = Path(__file__).resolve().parents[2] / "etc"
DEBIAN_EXAMPLE = Path("/usr/share/doc/isc-dhcp-server/examples/dhcpd.conf.example")
EXPECT = re.compile(r"^# EXPECT (?:(\S+) )?line (\d+): (.+)$", re.MULTILINE)

GOOD = sorted((CORPUS / "good").glob("*.conf")) + [CORPUS / "good/include-tree/main.conf"]
BAD = sorted((CORPUS / "bad").glob("*.conf")) + [CORPUS / "bad/include-problems/main.conf"]
ACCEPTED_BY_BOTH = GOOD + sorted(ETC.glob("*.conf")) + [DEBIAN_EXAMPLE]


@pytest.mark.parametrize("path", ACCEPTED_BY_BOTH, ids=lambda path: path.name)
def test_good_file_parses(path):
    config = load(str(path))
    assert config.subnets or config.root.params or config.root.options


@pytest.mark.parametrize("path", BAD, ids=lambda path: path.name)
def test_bad_file_reports_exactly_the_expected_problems(path):
    expected = [(name or path.name, int(line), text) for name, line, text in EXPECT.findall(path.read_text())]
    with pytest.raises(ConfigError) as raised:
        load(str(path))
    problems = raised.value.problems
    found = [(Path(problem.file).name, problem.line, problem.message) for problem in problems]
    for name, line, text in expected:
        assert any(name == got_name and line == got_line and text in message
                   for got_name, got_line, message in found), (name, line, text, found)
    assert len(problems) == len(expected), found


def test_error_text_is_one_isc_style_line_per_problem():
    path = CORPUS / "bad/syntax.conf"
    with pytest.raises(ConfigError) as raised:
        load(str(path))
    lines = str(raised.value).splitlines()
    assert lines[0] == f"{path} line 5: expected ';', found 'max-lease-time'"
    assert all(line.startswith(f"{path} line ") for line in lines)


def test_debian_example_notes_what_it_leaves_out():
    config = load(str(DEBIAN_EXAMPLE))
    assert config.root.params == {"default-lease-time": 600, "max-lease-time": 7200}
    assert config.root.options == {15: b"example.org"}
    assert "ddns-update-style" in config.notes
    assert any("domain-name-servers left out: ns1.example.org is a hostname" in note for note in config.notes)


def test_unreadable_file_is_a_config_error():
    with pytest.raises(ConfigError, match=r"line 0: cannot read the file"):
        load(str(CORPUS / "no-such-file.conf"))


def _isc_accepts(path: Path) -> bool:
    """isc-dhcpd's own config test, run from the file's folder so its relative includes resolve."""
    result = subprocess.run(["dhcpd", "-t", "-4", "-q", "-cf", path.name], cwd=path.parent,
                            capture_output=True, timeout=60, check=False)
    return result.returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("path", ACCEPTED_BY_BOTH + BAD, ids=lambda path: path.name)
def test_verdict_matches_isc_dhcpd(path):
    try:
        load(str(path))
        accepted = True
    except ConfigError:
        accepted = False
    assert accepted == _isc_accepts(path)
