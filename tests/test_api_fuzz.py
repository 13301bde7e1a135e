"""Schema-based fuzzing: schemathesis generates requests from the OpenAPI document and sends
them to the app (WSGI, in process); no request may get a 5xx, and every response must be
JSON of a documented content type.

(schemathesis' own pytest plugin does not run under this pytest, so each operation's
hypothesis strategy is driven here.)
"""

from __future__ import annotations

from collections.abc import Callable

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import content_type_conformance, not_a_server_error

from service_fixtures import TOKEN

EXAMPLES_PER_OPERATION = 30


def fuzz(operation: schemathesis.APIOperation) -> Callable[[], None]:
    """Return a hypothesis test sending generated requests for one operation."""
    admin = operation.path.startswith("/admin")
    headers = {"Authorization": f"Bearer {TOKEN}"} if admin else None

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(
            headers=headers, checks=[not_a_server_error, content_type_conformance]
        )

    return run  # type: ignore[no-any-return]


def test_no_request_gets_a_server_error(app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        fuzz(operation)()
