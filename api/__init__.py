"""The REST admin API: a FastAPI application served by uvicorn inside the DHCP server's own event loop.

`api.app.create_app(admin, auth)` builds the application; `api.service.serve_api` runs it beside the packet
path. Resources live under /api/v1, Prometheus metrics at /metrics, OpenAPI at /openapi.json and /docs.
"""
