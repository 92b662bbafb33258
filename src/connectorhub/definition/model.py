"""A multi-step HTTP definition: its shape (Pydantic) and the checks made when one is saved."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import jsonpath
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectorhub.definition import placeholders
from connectorhub.definition.jsonpaths import compile_path
from connectorhub.exceptions import ValidationFailed

_STEP_NAME = r"^[A-Za-z][A-Za-z0-9_]{0,62}$"
# RFC 9110: a field name is a token; a field value has no control characters but HTAB. Checked
# with fullmatch / search (a `$`-anchored match lets a trailing newline through).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")
_NOT_IN_FIELD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def header_name_problem(name: str) -> str | None:
    if not _HEADER_NAME.fullmatch(name):
        return f"{name!r} is not a valid header name (letters, digits and !#$%&'*+.^_`|~- only)"
    return None


def header_value_problem(value: str) -> str | None:
    if _NOT_IN_FIELD_VALUE.search(value):
        return "a header value may not hold control characters (line breaks, DEL, VT, NUL…)"
    return None


ROOTS_ALWAYS = ("input", "config", "secrets", "workspace")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BearerAuth(_Strict):
    type: Literal["bearer"]
    token: str = Field(examples=["{{workspace.github}}"])


class BasicAuth(_Strict):
    type: Literal["basic"]
    username: str
    password: str

    @field_validator("username")
    @classmethod
    def _no_colon(cls, username: str) -> str:
        if ":" in username:  # RFC 7617: the user-id ends at the first colon
            raise ValueError("a basic auth username may not contain ':'")
        return username


class ApiKeyAuth(_Strict):
    type: Literal["api_key"]
    # Where the key goes: a header (such as X-API-Key) or a query parameter (such as api_key).
    location: Literal["header", "query"] = Field("header", alias="in")
    name: str = Field(min_length=1, max_length=100)
    value: str

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _sendable(self) -> ApiKeyAuth:
        if self.location == "header":
            if problem := header_name_problem(self.name):
                raise ValueError(problem)
            if problem := header_value_problem(self.value):
                raise ValueError(problem)
        return self


StepAuth = Annotated[BearerAuth | BasicAuth | ApiKeyAuth, Field(discriminator="type")]


class RetryPolicy(_Strict):
    """Retries on connection errors, timeouts, 5xx and 429 with capped exponential backoff."""

    max_attempts: int = Field(3, ge=1, le=10)
    backoff_seconds: float = Field(0.5, ge=0, le=60, description="first wait; doubles each time")
    max_backoff_seconds: float = Field(30, ge=0, le=600, description="cap on any one wait")


class Step(_Strict):
    name: str = Field(pattern=_STEP_NAME)
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    url: str = Field(min_length=1, max_length=2000, examples=["/users/{{input.user_id}}"])
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    body: Any = Field(None, description="a JSON value; strings in it may hold placeholders")
    auth: StepAuth | None = None
    expect_status: list[int] = Field(
        default_factory=list, description="accepted status codes; empty means any 2xx"
    )
    extract: dict[str, str] = Field(
        default_factory=dict, description="field → JSONPath into the JSON response"
    )
    timeout_seconds: float = Field(30, gt=0, le=300)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)

    @field_validator("headers")
    @classmethod
    def _header_names(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if problem := header_name_problem(name) or header_value_problem(value):
                raise ValueError(
                    problem if problem.startswith(repr(name)) else f"{name!r}: {problem}"
                )
        return headers

    @field_validator("expect_status")
    @classmethod
    def _statuses(cls, statuses: list[int]) -> list[int]:
        for status in statuses:
            if not 100 <= status <= 599:
                raise ValueError(f"{status} is not an HTTP status")
        return statuses

    @field_validator("extract")
    @classmethod
    def _fields(cls, extract: dict[str, str]) -> dict[str, str]:
        for field in extract:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$", field):
                raise ValueError(f"{field!r} is not a valid field name")
        return extract


class Definition(_Strict):
    """What an HTTP connector does: steps run in order, each may use earlier steps' values."""

    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    config_schema: dict[str, Any] | None = Field(
        None, description="extra config this definition needs (the catalog entry's schema applies)"
    )
    credentials: list[str] = Field(
        default_factory=list, description="workspace credentials the steps use, by name"
    )
    steps: list[Step] = Field(min_length=1, max_length=20)
    output: dict[str, Any] | None = Field(
        None, description="the execution's output; default: every step's extracted values"
    )


def _schema_names(schema: dict[str, Any] | None) -> set[str] | None:
    """Top-level property names a schema declares (None: any name is allowed)."""
    if not schema:
        return None
    properties = schema.get("properties")
    if schema.get("additionalProperties", True) is not False and not properties:
        return None
    return set(properties or {})


def check_definition(
    definition: Definition,
    *,
    config_schema: dict[str, Any] | None = None,
    secret_fields: list[str] = (),  # type: ignore[assignment]
) -> None:
    """Refuse a definition whose placeholders reach an unknown name or a later step.

    Raises ValidationFailed with an error map keyed by the path of each problem
    (`steps[1].headers.Authorization`, `output.total`, …).
    """
    errors: dict[str, list[str]] = {}
    for label, schema in (
        ("input_schema", definition.input_schema),
        ("config_schema", definition.config_schema),
    ):
        if schema is not None:
            try:
                Draft202012Validator.check_schema(schema)
                Draft202012Validator(schema).is_valid({})  # resolves $refs: a dangling one fails
            except SchemaError as error:
                errors.setdefault(label, []).append(f"not a valid JSON Schema: {error.message}")
            except Exception as error:  # referencing errors come in several types
                errors.setdefault(label, []).append(f"cannot be used: {error}")

    known = {
        "input": _schema_names(definition.input_schema),
        "config": _merge_names(
            _schema_names(config_schema), _schema_names(definition.config_schema)
        ),
        "secrets": set(secret_fields),
        "workspace": set(definition.credentials),
    }
    names_seen: set[str] = set()
    for index, step in enumerate(definition.steps):
        where = f"steps[{index}]"
        if step.name in names_seen:
            errors.setdefault(f"{where}.name", []).append(
                f"{step.name!r} is used by an earlier step"
            )
        earlier = definition.steps[:index]
        for path, text in _step_strings(step, where):
            _check_text(path, text, known, earlier, errors)
        for field, expression in step.extract.items():
            try:
                compile_path(expression)
            except jsonpath.JSONPathError as error:
                errors.setdefault(f"{where}.extract.{field}", []).append(
                    f"not a valid JSONPath: {error}"
                )
        names_seen.add(step.name)
    if definition.output is not None:
        for path, text in placeholders.iter_strings(definition.output, "output"):
            _check_text(path, text, known, definition.steps, errors)
            # The output is stored and shown: secrets never go into it.
            if any(ref.root in ("secrets", "workspace") for ref in _references(text)):
                errors.setdefault(path, []).append("the output may not contain secrets")
    if errors:
        raise ValidationFailed(errors, "the definition has problems")


def _references(text: str) -> list[placeholders.Reference]:
    try:
        return placeholders.parse(text)
    except placeholders.PlaceholderError:
        return []


def _merge_names(first: set[str] | None, second: set[str] | None) -> set[str] | None:
    if first is None or second is None:
        return None if first is None and second is None else (first or set()) | (second or set())
    return first | second


def _step_strings(step: Step, where: str):
    yield f"{where}.url", step.url
    for name, value in step.headers.items():
        yield f"{where}.headers.{name}", value
    for name, value in step.query.items():
        yield f"{where}.query.{name}", value
    yield from placeholders.iter_strings(step.body, f"{where}.body")
    if step.auth is not None:
        for field, value in step.auth.model_dump(exclude={"type", "location", "name"}).items():
            yield f"{where}.auth.{field}", value


def _check_text(path, text, known, earlier: list[Step], errors) -> None:
    try:
        references = placeholders.parse(text)
    except placeholders.PlaceholderError as error:
        errors.setdefault(path, []).append(str(error))
        return
    by_name = {step.name: step for step in earlier}
    for reference in references:
        problem = _reference_problem(reference, known, earlier, by_name)
        if problem:
            errors.setdefault(path, []).append(f"{{{{{reference.text}}}}}: {problem}")


def _reference_problem(reference, known, earlier: list[Step], by_name) -> str | None:
    root, segments = reference.root, reference.segments
    first = segments[0] if segments else None
    if root in known:
        if first is None and root in ("input", "config"):
            return None  # the whole input or config object, e.g. as a request body
        if not isinstance(first, str):
            return f"name a field, such as {{{{{root}.name}}}}"
        names = known[root]
        if names is not None and first not in names:
            return f"unknown {root} name {first!r}"
        return None
    step: Step | None = None
    if root == "steps":
        if not isinstance(first, str):
            return "name a step, such as {{steps.login.token}}"
        step = by_name.get(first)
        field = segments[1] if len(segments) > 1 else None
        if step is None:
            return f"{first!r} is not an earlier step"
    elif re.fullmatch(r"step_\d+", root):
        number = int(root.removeprefix("step_"))
        if not 1 <= number <= len(earlier):
            return f"step {number} is not an earlier step (steps count from 1)"
        step = earlier[number - 1]
        field = first
    else:
        return f"unknown name {root!r}; use input, config, secrets, workspace, steps.<name> or step_<n>"
    if not isinstance(field, str) or field not in step.extract:
        return f"step {step.name!r} extracts no field {field!r}"
    return None
