"""`hookline parse …`: parse a sample query or body into the paths a workflow can name."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

import click

from hookline.cli.context import json_option, reports_errors
from hookline.cli.output import echo_json
from hookline.errors import ConfigError, RejectedRequest
from hookline.trigger.samples import (
    MAX_SAMPLE_BYTES,
    items_from_paths,
    parse_sample_body,
    parse_sample_of_type,
    parse_sample_query,
)


@click.group()
def parse() -> None:
    """Parse a sample query or body (JSON, form, XML, NDJSON, text, multipart) into the paths to name."""


ITEMS_OPTION = click.option(
    "--items", is_flag=True, help='Print the paths as [{"key", "alias"}] items for a workflow config.'
)
PARSE_JSON_OPTION = json_option('Print JSON: {"parsed": …, "paths": […]}.')


@parse.command("query")
@click.argument("sample", metavar="URL_OR_QUERY")
@ITEMS_OPTION
@PARSE_JSON_OPTION
@reports_errors
def parse_query(sample: str, items: bool, as_json: bool) -> None:
    """Parse the query of a sample URL (or a bare query string): its JSON and its paths."""
    parsed, paths = _parse_sample(parse_sample_query, sample)
    _echo_parsed_with_paths(parsed, paths, items=items, as_json=as_json)


@parse.command("json")
@click.argument("sample", metavar="FILE|-", type=click.File("rb"))
@ITEMS_OPTION
@PARSE_JSON_OPTION
@reports_errors
def parse_json(sample: IO[bytes], items: bool, as_json: bool) -> None:
    """Print the paths of a sample JSON body read from a file, or from stdin with `-`."""
    # One byte over the limit is enough for the parser to refuse the sample as too large.
    parsed, paths = _parse_sample(parse_sample_body, sample.read(MAX_SAMPLE_BYTES + 1))
    if items or as_json:
        _echo_parsed(parsed, paths, items=items)
        return
    for path in paths:
        click.echo(path)


@parse.command("body")
@click.argument("sample", metavar="SAMPLE|@FILE|-")
@click.option(
    "--content-type",
    default="application/json",
    show_default=True,
    help="The Content-Type the sample would arrive with: JSON, form, XML, NDJSON, text/*, multipart.",
)
@ITEMS_OPTION
@PARSE_JSON_OPTION
@click.pass_context
@reports_errors
def parse_body(ctx: click.Context, sample: str, content_type: str, items: bool, as_json: bool) -> None:
    """Parse a sample body of any format a webhook reads: its value and its paths.

    SAMPLE is the body itself; @FILE reads it from a file and - from stdin, as the bytes a
    request would carry (in the charset the content type, or an XML declaration, names).
    """
    given = _sample_argument(ctx, sample)
    parsed, paths = _parse_sample(lambda text: parse_sample_of_type(text, content_type), given)
    _echo_parsed_with_paths(parsed, paths, items=items, as_json=as_json)


def _sample_argument(ctx: click.Context, sample: str) -> str | bytes:
    """The sample text itself, or the bytes of `@FILE` or of stdin (`-`)."""
    if sample != "-" and not sample.startswith("@"):
        return sample
    param = next(param for param in ctx.command.params if param.name == "sample")
    with click.File("rb").convert(sample.removeprefix("@"), param, ctx) as source:
        # One byte over the limit is enough for the parser to refuse the sample as too large.
        read: bytes = source.read(MAX_SAMPLE_BYTES + 1)
    return read


def _parse_sample(parser: Callable[[Any], tuple[Any, list[str]]], sample: Any) -> tuple[Any, list[str]]:
    """The parser's answer; a sample it refuses is invalid input (exit code 2)."""
    try:
        return parser(sample)
    except RejectedRequest as exc:
        raise ConfigError(exc.message) from exc


def _echo_parsed(parsed: Any, paths: list[str], *, items: bool) -> None:
    echo_json(items_from_paths(paths) if items else {"parsed": parsed, "paths": paths})


def _echo_parsed_with_paths(parsed: Any, paths: list[str], *, items: bool, as_json: bool) -> None:
    """Print a parsed sample and its paths for people, or as JSON or items when asked."""
    if items or as_json:
        _echo_parsed(parsed, paths, items=items)
        return
    click.echo("parsed:")
    echo_json(parsed)
    click.echo("paths:" if paths else "paths: (none)")
    for path in paths:
        click.echo(f"  {path}")
