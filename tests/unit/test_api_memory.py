"""The web stack is imported without pydantic.v1 (1.5 MiB it does not need) and serves the same OpenAPI schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from api.app import create_app
from api.auth import ApiAuth

pytestmark = pytest.mark.unit
PROJECT = Path(__file__).resolve().parents[2]


def test_the_web_stack_serves_the_same_openapi_without_pydantic_v1():
    code = ("import json, sys; from api.service import _import_web_stack; _import_web_stack(); "
            "from api.app import create_app; from api.auth import ApiAuth; "
            "assert sys.modules['pydantic.v1'] is None; "
            "print(json.dumps(create_app(object(), ApiAuth(None)).openapi()))")
    shown = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True)
    assert json.loads(shown.stdout) == create_app(object(), ApiAuth(None)).openapi()
