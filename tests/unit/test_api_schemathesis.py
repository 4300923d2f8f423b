"""Property tests of the whole API from its own OpenAPI document (schemathesis strategies, driven by
hypothesis): whatever the generated request, with or without the token, the answer is never a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.unit.api_backend import authorized, make_client, make_server

pytestmark = [pytest.mark.unit, pytest.mark.slow]
EXAMPLES_PER_OPERATION = 30


def test_no_generated_request_makes_a_server_error(tmp_path):
    client = make_client(make_server(tmp_path))
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def never_a_server_error(case):
            for headers in (authorized(), {}):
                response = case.call(headers=headers)
                assert response.status_code < 500, (case.method, case.formatted_path, response.text)

        never_a_server_error()
        checked.append(operation.label)
    assert "POST /api/v1/leases" in checked and "DELETE /api/v1/reservations/{reservation_id}" in checked
