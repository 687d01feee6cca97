"""The error answers in the OpenAPI document: what each operation can answer besides success.

Every error body is :class:`ErrorOut` (``server.main._error``). The codes every route of a
kind can give are read from the route itself, so a new route is documented as it is
written: a bearer or station-key route answers 401 and 403, a route with a body 400
(undecodable), 413 (over the body limit) and 422, a route with path parameters 404, a
write 409 (a conflicting or already-done change), a route opening sealed farmer fields 503
(a wrong field key). What only one route answers (a 404 for
a station named in the query, a 429) its decorator says in ``responses=`` (a description;
the error schema is added here).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from server.core.deps import get_current_user, get_station
from server.farmers.sealed import get_field_cipher


class ErrorOut(BaseModel):
    """Every error answer: a code, a message (Chinese / English) and optional detail."""

    error: str
    message: str
    detail: Any = None


_REF = {"$ref": "#/components/schemas/ErrorOut"}

#: Status → description, for the codes this module adds.
DESCRIPTIONS = {
    400: "请求体无法解析 / the body could not be decoded",
    401: "未登录或凭证无效 / no or invalid credentials",
    403: "无权执行 / not allowed for this role, cooperative or station",
    404: "不存在 / not found",
    409: "与现有数据或状态冲突 / conflicts with stored data or the current state",
    413: "请求体过大 / body larger than the limit",
    422: "请求格式错误 / invalid request",
    429: "尝试过多 / too many attempts (see Retry-After)",
    503: "字段密钥打不开已存数据 / the field key cannot open a stored value",
}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def _headers(dependant: Dependant) -> Iterator[str]:
    for param in dependant.header_params:
        yield (param.alias or param.name).lower().replace("_", "-")
    for dep in dependant.dependencies:
        yield from _headers(dep)


def inferred_codes(route: Any) -> set[int]:
    """The error codes ``route`` can answer by its kind (auth, body, path, write)."""
    codes: set[int] = set()
    calls = set(_calls(route.dependant))
    station_key = "x-api-key" in _headers(route.dependant)
    if get_current_user in calls or get_station in calls or station_key:
        codes |= {401, 403}
    has_body = route.body_field is not None or "requestBody" in (route.openapi_extra or {})
    if has_body:
        codes |= {400, 413, 422}
    if route.dependant.path_params:
        codes |= {404, 422}
    if route.dependant.query_params or route.dependant.header_params:
        codes.add(422)
    if route.methods & {"POST", "PUT", "PATCH", "DELETE"}:
        codes.add(409)
    if get_field_cipher in calls:  # opens sealed bank or phone numbers
        codes.add(503)
    return codes


def _api_routes(app: FastAPI) -> Iterator[Any]:
    """The app's API routes as the document sees them (with their routers' prefixes and
    dependencies: FastAPI ≥ 0.16x includes routers lazily, as route contexts)."""
    contexts = getattr(routing, "iter_route_contexts", None)
    for route in contexts(app.routes) if contexts else app.routes:
        if isinstance(getattr(route, "original_route", route), APIRoute):
            yield route


def _error_content() -> dict[str, Any]:
    return {"application/json": {"schema": dict(_REF)}}


def document_errors(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so each operation lists its error answers with their schema."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = build()
        components = doc.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorOut"] = ErrorOut.model_json_schema()
        for route in _api_routes(app):
            if not route.include_in_schema:
                continue
            ops = doc["paths"].get(route.path_format, {})
            for method in route.methods:
                op = ops.get(method.lower())
                if op is None:
                    continue
                responses = op.setdefault("responses", {})
                for code in sorted(inferred_codes(route) | _declared_errors(responses)):
                    entry = responses.setdefault(str(code), {"description": DESCRIPTIONS[code]})
                    if "content" not in entry or _is_fastapi_422(entry):
                        entry["content"] = _error_content()
        # FastAPI's validation schemas go unless something still refers to them.
        if "HTTPValidationError" not in str(doc["paths"]):
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _declared_errors(responses: dict[str, Any]) -> set[int]:
    """Error codes a route declared itself in ``responses=``."""
    return {int(k) for k in responses if k.isdigit() and int(k) in DESCRIPTIONS}


def _is_fastapi_422(entry: dict[str, Any]) -> bool:
    return "HTTPValidationError" in str(entry.get("content", ""))
