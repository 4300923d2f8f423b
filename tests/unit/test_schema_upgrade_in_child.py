"""The server upgrades its lease database in a forked child: the schema is current afterwards, Alembic never
loads into the server's process, and a failed upgrade is reported as SchemaUpgradeFailed."""

import sqlite3
import subprocess
import sys

import pytest
from alembic.script import ScriptDirectory

from dhcpd.leases.database import SchemaUpgradeFailed, alembic_config, upgrade_schema_in_child

pytestmark = pytest.mark.unit

UPGRADE_AND_REPORT = """
import sys
from dhcpd.leases.database import upgrade_schema_in_child
import dhcpd.cli, dhcpd.server
upgrade_schema_in_child(sys.argv[1])
print("alembic" in sys.modules)
"""


def test_the_child_brings_the_schema_to_head_without_loading_alembic_into_the_caller(tmp_path):
    database = tmp_path / "leases.sqlite"
    finished = subprocess.run([sys.executable, "-c", UPGRADE_AND_REPORT, f"sqlite:///{database}"],
                              capture_output=True, text=True, check=True)
    assert finished.stdout.strip() == "False"
    with sqlite3.connect(database) as connection:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert revision == ScriptDirectory.from_config(alembic_config(f"sqlite:///{database}")).get_current_head()


def test_a_failed_upgrade_raises_after_the_child_reported_why(tmp_path, capfd):
    unwritable = tmp_path / "file"
    unwritable.write_text("not a folder")
    with pytest.raises(SchemaUpgradeFailed):
        upgrade_schema_in_child(f"sqlite:///{unwritable / 'leases.sqlite'}")
    assert "Error" in capfd.readouterr().err
