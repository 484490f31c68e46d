"""`/api/parse`: the "parse from a sample" helpers of the trigger's configuration (docs/bodies.md)."""

from __future__ import annotations

from fastapi import APIRouter

from hookline.api.errors import InvalidRequest
from hookline.api.routes import error_answers
from hookline.api.schemas import BodySample, JsonSample, ParsedBody, ParsedJson, ParsedQuery, QuerySample
from hookline.errors import Problem
from hookline.trigger.samples import (
    body_paths,
    items_from_paths,
    parse_sample_body,
    parse_sample_of_type,
    parse_sample_query,
)
from hookline.types import JsonObject

router = APIRouter(prefix="/parse", tags=["parse"], responses=error_answers(400, 401, 413, 422))


@router.post("/query", summary="Paths of a sample URL or query string", response_model=ParsedQuery)
async def parse_query_sample(body: QuerySample) -> JsonObject:
    """The parsed query and its `query[0]`, `query[0].a` paths, each as an item with an empty alias."""
    parsed, paths = parse_sample_query(body.sample)
    return {"parsed": parsed, "paths": paths, "items": items_from_paths(paths)}


@router.post("/json", summary="Paths of a sample JSON body", response_model=ParsedJson)
async def parse_json_sample(body: JsonSample) -> JsonObject:
    """The `a`, `b`, `b.c`, `items[0].id` paths of a JSON value (`sample`) or of JSON text (`text`)."""
    given = body.model_fields_set
    if len(given) != 1:
        raise InvalidRequest([Problem("body", "give either `sample` (a JSON value) or `text` (JSON text)")])
    if "text" in given:
        if body.text is None:
            raise InvalidRequest([Problem("body.text", "must be JSON text")])
        _, paths = parse_sample_body(body.text)
    else:
        paths = body_paths(body.sample)
    return {"paths": paths, "items": items_from_paths(paths)}


@router.post(
    "/body", summary="Paths of a sample body of any format hookline reads", response_model=ParsedBody
)
async def parse_body_sample(body: BodySample) -> JsonObject:
    """The parsed value of a JSON, form, XML, NDJSON, text or multipart sample (`text`), as
    `$context.body` would hold it for its `contentType`, and its paths; 422 for a type hookline does
    not read or a bad sample."""
    parsed, paths = parse_sample_of_type(body.text, body.contentType)
    return {"parsed": parsed, "paths": paths, "items": items_from_paths(paths)}
