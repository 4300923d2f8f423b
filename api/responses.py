"""Responses for lists that grow with the network: one entry per link or per declared subnet."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Response
from pydantic import BaseModel


def json_array(models: Iterable[BaseModel]) -> Response:
    """A JSON array of `models` as the route's response_model writes them, each written as soon as it is made.

    Returned as a list, the models were validated and serialized by FastAPI all together: at 4,000 links they
    and their copies took a few MiB that stayed resident after the call (api/interfaces.py, api/subnets.py)."""
    return Response("[" + ",".join(model.model_dump_json() for model in models) + "]",
                    media_type="application/json")
