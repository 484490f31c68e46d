"""`/api/reference`: a readable HTML page made from the OpenAPI document, with no scripts at all."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse

METHODS = ("get", "post", "put", "patch", "delete")

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d232a}
h1{margin-bottom:0}h2{border-bottom:1px solid #d8dee4;padding-bottom:.2rem;margin-top:2.5rem}
code,.path{font-family:ui-monospace,monospace}a{color:#0b5cad}
.op{border:1px solid #d8dee4;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.method{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}
.get{color:#1a7f37}.post{color:#0b5cad}.patch{color:#9a6700}.delete{color:#cf222e}
table{border-collapse:collapse;margin:.3rem 0}
td,th{border:1px solid #d8dee4;padding:.2rem .5rem;text-align:left}
th{background:#f6f8fa}.muted{color:#57606a}
"""


async def reference_page(request: Request) -> HTMLResponse:
    """The reference page of the app that serves it."""
    app = request.app
    assert isinstance(app, FastAPI)
    return HTMLResponse(reference_html(app.openapi(), prefix=request.scope.get("root_path", "")))


def reference_html(document: dict[str, Any], *, prefix: str = "") -> str:
    """The whole page: overview, every operation by tag, then every schema."""
    info = document.get("info", {})
    title = escape(str(info.get("title", "API")))
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{title}</h1><p class='muted'>version {escape(str(info.get('version', '')))} · ",
        f"<a href='{escape(prefix)}/openapi.json'>OpenAPI document</a></p>",
        f"<p>{_text(info.get('description', ''))}</p>",
    ]
    operations = list(_operations(document))
    parts.append(_contents(operations, prefix))
    for tag in _tags(operations):
        parts.append(f"<h2 id='tag-{escape(tag)}'>{escape(tag)}</h2>")
        parts += [_operation(path, method, op, prefix) for path, method, op in operations if _tag(op) == tag]
    parts.append("<h2 id='schemas'>Schemas</h2>")
    schemas = document.get("components", {}).get("schemas", {})
    parts += [_schema(name, schema) for name, schema in sorted(schemas.items())]
    parts.append("</body></html>")
    return "".join(parts)


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, item[method])
        for path, item in document.get("paths", {}).items()
        for method in METHODS
        if method in item
    ]


def _tag(operation: dict[str, Any]) -> str:
    tags = operation.get("tags") or ["other"]
    return str(tags[0])


def _tags(operations: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    return list(dict.fromkeys(_tag(op) for _, _, op in operations))


def _anchor(method: str, path: str) -> str:
    return escape(f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""))


def _contents(operations: list[tuple[str, str, dict[str, Any]]], prefix: str) -> str:
    rows = "".join(
        f"<tr><td class='method {method}'>{method}</td>"
        f"<td><a class='path' href='#{_anchor(method, path)}'>{escape(prefix + path)}</a></td>"
        f"<td>{escape(str(op.get('summary', '')))}</td></tr>"
        for path, method, op in operations
    )
    return f"<h2>Endpoints</h2><table>{rows}</table>"


def _operation(path: str, method: str, operation: dict[str, Any], prefix: str) -> str:
    parts = [
        f"<div class='op' id='{_anchor(method, path)}'>",
        f"<p><span class='method {method}'>{method}</span> <span class='path'>{escape(prefix + path)}</span>",
        f" — {escape(str(operation.get('summary', '')))}</p>",
        f"<p>{_text(operation.get('description', ''))}</p>",
    ]
    if operation.get("security"):
        parts.append("<p class='muted'>Needs <code>Authorization: Bearer &lt;admin token&gt;</code>.</p>")
    parts.append(_parameters(operation.get("parameters", [])))
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if body is not None:
        parts.append(f"<p>Request body: {_type(body)}</p>")
    parts.append(_responses(operation.get("responses", {})))
    parts.append("</div>")
    return "".join(parts)


def _parameters(parameters: list[dict[str, Any]]) -> str:
    if not parameters:
        return ""
    rows = "".join(
        f"<tr><td><code>{escape(str(p.get('name')))}</code></td><td>{escape(str(p.get('in')))}</td>"
        f"<td>{_type(p.get('schema', {}))}</td><td>{'yes' if p.get('required') else 'no'}</td>"
        f"<td>{_text(p.get('description') or p.get('schema', {}).get('description', ''))}</td></tr>"
        for p in parameters
    )
    head = "<tr><th>parameter</th><th>in</th><th>type</th><th>required</th><th>about</th></tr>"
    return f"<table>{head}{rows}</table>"


def _responses(responses: dict[str, Any]) -> str:
    rows = []
    for status, response in responses.items():
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        shown = _type(schema) if schema is not None else "<span class='muted'>no body</span>"
        about = _text(response.get("description", ""))
        rows.append(f"<tr><td>{escape(status)}</td><td>{shown}</td><td>{about}</td></tr>")
    head = "<tr><th>status</th><th>body</th><th>meaning</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _schema(name: str, schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{escape(field)}</code></td><td>{_type(spec)}</td>"
        f"<td>{'yes' if field in required else 'no'}</td><td>{_text(spec.get('description', ''))}</td></tr>"
        for field, spec in schema.get("properties", {}).items()
    )
    table = f"<table><tr><th>field</th><th>type</th><th>required</th><th>about</th></tr>{rows}</table>"
    about = _text(schema.get("description", ""))
    return f"<h3 id='schema-{escape(name)}'>{escape(name)}</h3><p>{about}</p>{table if rows else ''}"


def _type(schema: dict[str, Any]) -> str:
    """A schema as a short phrase: a link to a named schema, `list of …`, `a | b`, `string`."""
    if "$ref" in schema:
        name = escape(str(schema["$ref"]).rsplit("/", 1)[-1])
        return f"<a href='#schema-{name}'>{name}</a>"
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in schema:
            return " | ".join(_type(part) for part in schema[combined])
    if "enum" in schema:
        return "one of " + ", ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind is None:
        return "any JSON"
    text = escape(str(kind))
    if "pattern" in schema:
        text += f" <code>{escape(str(schema['pattern']))}</code>"
    return text


def _text(value: Any) -> str:
    """Documentation text with `code` spans kept readable."""
    parts = escape(str(value)).split("`")
    return "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))
