"""/api/openapi.json describes every API route, method and way of authenticating."""

from __future__ import annotations

import re


def _spec(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_every_api_route_and_method_is_described(app, client):
    paths = _spec(client)["paths"]
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule == "/api/openapi.json":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method.lower() not in paths.get(path, {}):
                missing.append(f"{method} {path}")
    assert missing == []


def test_security_schemes_are_declared_and_used(client):
    spec = _spec(client)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["hqApiToken"] == {**schemes["hqApiToken"], "type": "http", "scheme": "bearer"}
    assert schemes["linkToken"]["scheme"] == "bearer"
    assert schemes["linkTokenQuery"] == {**schemes["linkTokenQuery"], "type": "apiKey",
                                         "in": "query", "name": "token"}
    assert schemes["session"]["in"] == "cookie"
    for path, item in spec["paths"].items():
        for method, op in item.items():
            names = {name for requirement in op["security"] for name in requirement}
            assert names <= set(schemes), (method, path)
            if path == "/api/health":
                assert op["security"] == []  # public
            elif path.startswith("/api/hq/"):
                assert names == {"session", "hqApiToken"}, path
            else:
                assert {"session", "linkToken", "linkTokenQuery"} == names, (method, path)
