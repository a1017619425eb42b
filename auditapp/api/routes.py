"""JSON API: health and the OpenAPI description assembled from the API modules."""

from __future__ import annotations

from flask import current_app, jsonify

from . import bp, hq, insights, recovery, shopper


@bp.route("/health")
def health():
    return {"status": "ok"}


def security_schemes() -> dict:
    """How API callers authenticate (operations name them in ``security``)."""
    return {
        "session": {
            "type": "apiKey", "in": "cookie",
            "name": current_app.config.get("SESSION_COOKIE_NAME", "session"),
            "description": "The browser's login session. POST/PUT/PATCH/DELETE also need "
                           "the `X-CSRFToken` header (from the page's `csrf-token` meta tag).",
        },
        "linkToken": {
            "type": "http", "scheme": "bearer",
            "description": "A shopper's assignment link token "
                           "(`Authorization: Bearer <token>`): opens that one visit only.",
        },
        "linkTokenQuery": {
            "type": "apiKey", "in": "query", "name": "token",
            "description": "The same assignment link token as `?token=` (the link itself).",
        },
        "hqApiToken": {
            "type": "http", "scheme": "bearer",
            "description": "HQ's personal API token (`Authorization: Bearer <token>`), "
                           "issued and revoked on /hq/api-token.",
        },
    }


def openapi_spec() -> dict:
    paths: dict = {"/api/health": {"get": {
        "summary": "Liveness check", "security": [],
        "responses": {"200": {"description": "The app is up"}},
    }}}
    schemas: dict = {}
    for module in (shopper, hq, recovery, insights):
        paths.update(module.OPENAPI_PATHS)
        schemas.update(module.OPENAPI_SCHEMAS)
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{current_app.config.get('BRAND_NAME', 'auditapp')} API",
                 "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": security_schemes()},
    }


@bp.route("/openapi.json")
def openapi():
    return jsonify(openapi_spec())
