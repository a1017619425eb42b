"""JSON API: health and the OpenAPI description assembled from the API modules."""

from __future__ import annotations

from flask import current_app, jsonify

from . import bp, hq, shopper


@bp.route("/health")
def health():
    return {"status": "ok"}


def openapi_spec() -> dict:
    paths: dict = {"/api/health": {"get": {
        "summary": "Liveness check",
        "responses": {"200": {"description": "The app is up"}},
    }}}
    schemas: dict = {}
    for module in (shopper, hq):
        paths.update(module.OPENAPI_PATHS)
        schemas.update(module.OPENAPI_SCHEMAS)
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{current_app.config.get('BRAND_NAME', 'auditapp')} API",
                 "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


@bp.route("/openapi.json")
def openapi():
    return jsonify(openapi_spec())
