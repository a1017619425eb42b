"""API: hq."""

from . import bp  # noqa: F401

#: OpenAPI 3.1 path items this module serves, merged into /api/openapi.json.
OPENAPI_PATHS: dict = {}
#: OpenAPI component schemas this module defines.
OPENAPI_SCHEMAS: dict = {}
