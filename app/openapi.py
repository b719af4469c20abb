"""The JSON API described once. Each operation declares its pydantic models (``@operation``): they
validate what comes in — a 422 naming each field that is wrong, never a 500 — and the same models,
through pydantic's own JSON Schema generator, are the OpenAPI 3.1 document at
``/api/v1/openapi.json`` that the docs page shows and the fuzz test reads.

Why pydantic and this small assembly rather than a framework that also validates answers: the map
layers answer with GeoJSON PostgreSQL wrote (hundreds of KB a pan) and intake with the JSON of its
own statement; a library validating every documented response would parse them again on each
request. Answers are checked against the document in the test suite (schemathesis), not in
production.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, get_args, get_origin

from flask import Flask, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule

from gis.errors import Invalid
from gis.i18n import Message, _

JSON = "application/json"


@dataclass(frozen=True)
class Reply:
    """One documented answer: a model (or a JSON Schema), under a media type; ``alternatives``:
    the same answer in other media (Open311's XML)."""

    model: Any = None  # a pydantic model, a list[...] of one, a dict (a JSON Schema), or None
    media: str = JSON
    description: str = ""
    alternatives: tuple[Reply, ...] = ()


@dataclass
class Operation:
    summary: str
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None  # a JSON body
    form: type[BaseModel] | None = None  # a form (urlencoded or multipart), with ``files``
    files: dict[str, str] = field(default_factory=dict)  # file field → what it is
    responses: dict[int | str, Reply] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    public: bool = False  # no token needed
    description: str = ""


def operation(summary: str, **details) -> Any:
    """Declare a view as an API operation: its query, body (JSON), form and files, and answers.
    The view receives the validated models as keyword arguments ``query`` and ``body``."""
    op = Operation(summary, **details)

    def decorate(view):
        @wraps(view)
        def validated(*args, **kwargs):
            if op.query is not None:
                kwargs["query"] = _validate(op.query, _fields(request.args, op.query), "query")
            if op.body is not None and (op.form is None or request.is_json):
                kwargs["body"] = _validate_json(op.body)
            elif op.form is not None:
                kwargs["body"] = _validate(op.form, _fields(request.form, op.form), "form")
            return view(*args, **kwargs)

        validated.gridwatch_operation = op  # type: ignore[attr-defined]
        return validated

    return decorate


def _is_list(annotation) -> bool:
    return get_origin(annotation) is list or any(get_origin(a) is list for a in get_args(annotation))


def _fields(values, model: type[BaseModel]) -> dict:
    """A query string's or form's fields for ``model``: lists where it wants lists; an empty value
    is one not given (what an HTML form sends for an empty input)."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if _is_list(info.annotation):
            items = [v for v in values.getlist(key) if v != ""]
            if items:
                out[key] = items
        elif values.get(key, "") != "":
            out[key] = values.get(key)
    return out


def _validate(model: type[BaseModel], data: dict, where: str):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, where) from None


def _validate_json(model: type[BaseModel]):
    raw = request.get_data(cache=True)
    if not request.is_json:
        raise Invalid(
            _("send the body as JSON (Content-Type: application/json)"), fields={"body": _("not JSON")}
        )
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        raise _invalid(exc, "body") from None


# What a person reads for each kind of pydantic error (its own text otherwise).
MESSAGES = {
    "missing": _("is required"),
    "string_too_long": _("is too long: at most %(max_length)s characters"),
    "string_too_short": _("is too short: at least %(min_length)s characters"),
    "too_long": _("is too long: at most %(max_length)s"),
    "too_short": _("needs at least %(min_length)s item(s)"),
    "float_parsing": _("must be a number"),
    "float_type": _("must be a number"),
    "int_parsing": _("must be a whole number"),
    "int_type": _("must be a whole number"),
    "int_from_float": _("must be a whole number"),
    "finite_number": _("must be a finite number, not NaN or infinity"),
    "greater_than": _("must be more than %(gt)s"),
    "greater_than_equal": _("must be at least %(ge)s"),
    "less_than": _("must be less than %(lt)s"),
    "less_than_equal": _("must be at most %(le)s"),
    "literal_error": _("must be one of %(expected)s"),
    "enum": _("must be one of %(expected)s"),
    "uuid_parsing": _("must be a UUID"),
    "uuid_type": _("must be a UUID"),
    "date_parsing": _("must be a date like 2026-11-23"),
    "date_from_datetime_parsing": _("must be a date like 2026-11-23"),
    "datetime_parsing": _("must be a time like 2026-11-23T08:00:00+08:00"),
    "datetime_from_date_parsing": _("must be a time like 2026-11-23T08:00:00+08:00"),
    "string_pattern_mismatch": _("is not in the expected form"),
    "string_type": _("must be text"),
    "bool_parsing": _("must be true or false"),
    "model_type": _("must be an object"),
    "dict_type": _("must be an object"),
    "list_type": _("must be a list"),
    "json_invalid": _("is not valid JSON"),
    "json_type": _("must be JSON"),
    "extra_forbidden": _("is not a field of this request"),
}


def field_message(error: dict):
    """What is wrong with one field, in words (a Message, rendered in the reader's language)."""
    if error["type"] == "value_error":
        cause = error.get("ctx", {}).get("error")
        message = cause.args[0] if isinstance(cause, Exception) and cause.args else error["msg"]
        return message if isinstance(message, Message) else _(str(message))
    template = MESSAGES.get(error["type"])
    if template is None:
        return error["msg"]
    ctx = {k: str(v) for k, v in error.get("ctx", {}).items()}
    if not set(re.findall(r"%\((\w+)\)s", template.msgid)) <= set(ctx):
        return error["msg"]
    return _(template.msgid, **ctx)


def _invalid(exc: ValidationError, where: str) -> Invalid:
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        name = ".".join(str(part) for part in error["loc"]) or where
        fields.setdefault(name, field_message(error))
    return Invalid(_Fields(fields), fields=fields)


class _Fields:
    """Each wrong field and what is wrong with it, as one message: "lon: must be a number; …"."""

    def __init__(self, fields: dict):
        self.fields = fields

    def __str__(self) -> str:
        return "; ".join(f"{name}: {text}" for name, text in self.fields.items())


# -- the document ---------------------------------------------------------------------------------
FLASK_PARAMETER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
CONVERTERS = {
    "int": {"type": "integer", "minimum": 0},
    "id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    "float": {"type": "number"},
}


def _path(rule: Rule) -> tuple[str, list[dict]]:
    """The rule as an OpenAPI path, and its path parameters."""
    parameters = []

    def swap(match):
        converter, name = match.group(1) or "string", match.group(2)
        schema = CONVERTERS.get(converter, {"type": "string"})
        if name == "fmt":
            schema = {"type": "string", "enum": ["json", "xml"]}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return FLASK_PARAMETER.sub(swap, rule.rule), parameters


class _Schemas:
    """Every model the operations name, as components, with their references."""

    def __init__(self, operations: list[Operation]):
        models: set[type[BaseModel]] = set()
        for op in operations:
            replies = [each for r in op.responses.values() for each in (r, *r.alternatives)]
            for model in (op.query, op.body, op.form, *(r.model for r in replies)):
                for candidate in (model, *get_args(model)):
                    if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                        models.add(candidate)
        ordered = sorted(models, key=lambda m: m.__name__)
        refs, top = models_json_schema(
            [(m, "validation") for m in ordered], ref_template="#/components/schemas/{model}"
        )
        self.refs = {m: refs[(m, "validation")] for m in ordered}
        self.components = top.get("$defs", {})

    def of(self, model) -> dict:
        if model is None:
            return {}
        if isinstance(model, dict):
            return model
        if get_origin(model) is list:
            return {"type": "array", "items": self.of(get_args(model)[0])}
        return self.refs[model]

    def fields_of(self, model: type[BaseModel]) -> tuple[dict, list[str]]:
        """A model's own properties and required names (inlined, for parameters and forms)."""
        schema = self.components[model.__name__]
        return schema.get("properties", {}), schema.get("required", [])


def _operation_object(op: Operation, rule: Rule, method: str, schemas: _Schemas, path_params) -> dict:
    out: dict[str, Any] = {
        "operationId": rule.endpoint.replace(".", "_") + ("" if method == "get" else f"_{method}"),
        "summary": op.summary,
        "tags": list(op.tags) or [rule.endpoint.split(".")[0]],
        "parameters": list(path_params),
        "responses": {},
    }
    if op.description:
        out["description"] = op.description
    if op.public:
        out["security"] = []
    if op.query is not None:
        properties, required = schemas.fields_of(op.query)
        for name, schema in properties.items():
            out["parameters"].append(
                {"name": name, "in": "query", "required": name in required, "schema": schema}
            )
    content = {}
    if op.body is not None:
        content[JSON] = {"schema": schemas.of(op.body)}
    if op.form is not None:
        properties, required = schemas.fields_of(op.form)
        properties = {**properties}
        for name, what in op.files.items():
            properties[name] = {
                "type": "array",
                "items": {"type": "string", "format": "binary"},
                "description": what,
            }
        form_schema = {"type": "object", "properties": properties, "required": required}
        content["multipart/form-data"] = {"schema": form_schema}
        if not op.files:
            content["application/x-www-form-urlencoded"] = {"schema": form_schema}
    if content:
        out["requestBody"] = {"required": True, "content": content}
    for status, reply in op.responses.items():
        entry = out["responses"].setdefault(str(status), {"description": reply.description or str(status)})
        for each in (reply, *reply.alternatives):
            if each.model is not None or each.media != JSON:
                schema = schemas.of(each.model) or {"type": "string"}
                entry.setdefault("content", {})[each.media] = {"schema": schema}
    return out


def document(app: Flask, title: str, version: str, description: str = "") -> dict:
    """The OpenAPI 3.1 document of every declared operation."""
    found = []
    for rule in app.url_map.iter_rules():
        op = getattr(app.view_functions.get(rule.endpoint), "gridwatch_operation", None)
        if op is not None:
            found.append((rule, op))
    schemas = _Schemas([op for _, op in found])
    paths: dict[str, dict] = {}
    for rule, op in sorted(found, key=lambda item: item[0].rule):
        path, path_params = _path(rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation_object(
                op, rule, method.lower(), schemas, path_params
            )
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def query_of(model: type[BaseModel]):
    """A page's query string as ``model`` (a page is no API operation, but reads its arguments the
    same way and refuses them the same way)."""
    return _validate(model, _fields(request.args, model), "query")
