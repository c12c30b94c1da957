"""Rendering pages: the Jinja2 environment, its filters, and ``page()`` / ``fragment()``.

Filters turn view fields into text a person reads: times (UTC), durations, counts,
SQL highlighted by Pygments (class-based: ``static/sql.css``), a cron expression in
plain words (cron-descriptor), and small inline-SVG sparklines and bar charts (no
chart library, nothing from a CDN). Autoescaping is on: every value is escaped
unless a filter here returns ``Markup`` it built from escaped parts.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from pipekit.run_counters import COUNTERS
from pipekit.status import RUN_STATUSES
from pipekit.web.security import CSRF_FIELD, CSRF_HEADER, session_of

HERE = Path(__file__).parent

#: the main navigation: (path, label)
NAV: tuple[tuple[str, str], ...] = (
    ("/", "Dashboard"),
    ("/modules", "Modules"),
    ("/runs", "Runs"),
    ("/groups", "Groups"),
    ("/schedules", "Schedules"),
    ("/connections", "Connections"),
    ("/drivers", "Drivers"),
    ("/settings", "Settings"),
)


def when(value: dt.datetime | None) -> str:
    """A time as UTC wall time, ``2026-12-06 05:30:01``; empty for None."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def seconds(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def duration(value: float | None) -> str:
    """Seconds as ``0.42 s``, ``3 min 05 s`` or ``2 h 03 min``."""
    if value is None:
        return ""
    if value < 60:
        return f"{value:.2f} s" if value < 10 else f"{value:.0f} s"
    minutes, secs = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def number(value: int | float | None) -> str:
    return "" if value is None else f"{value:,}"


@lru_cache(maxsize=1)
def _sql_lexer() -> Any:
    from pygments.lexers import SqlLexer

    return SqlLexer()


def sql(text: str | None) -> Markup:
    """`text` as highlighted SQL in a ``<pre class="hl">`` (Pygments escapes it)."""
    if not text:
        return Markup('<p class="muted">none</p>')
    from pygments import highlight
    from pygments.formatters import HtmlFormatter

    html = highlight(text, _sql_lexer(), HtmlFormatter(cssclass="hl", wrapcode=True))
    return Markup(html)


@lru_cache(maxsize=1024)
def cron_words(expr: str) -> str:
    """A cron expression in plain words; the expression itself if it cannot be read."""
    try:
        from cron_descriptor import Options, get_description

        options = Options()
        options.use_24hour_time_format = True
        return str(get_description(expr, options))
    except Exception:
        return expr


def sparkline(values: Sequence[float | None], width: int = 120, height: int = 24) -> Markup:
    """An inline SVG polyline of `values` (oldest first); empty without two points."""
    points = [float(v) for v in values if v is not None]
    if len(points) < 2:
        return Markup("")
    top = max(points) or 1.0
    step = width / (len(points) - 1)
    coords = " ".join(
        f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(points)
    )
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="trend"><polyline points="{coords}" /></svg>'
    )


def bars(
    items: Sequence[tuple[str, float]], label: str, width: int = 600, height: int = 120
) -> Markup:
    """An inline SVG bar chart of (label, value) pairs, scaled to the largest value."""
    if not items:
        return Markup('<p class="muted">no runs in these days</p>')
    top = max(v for _, v in items) or 1.0
    slot = width / len(items)
    parts = []
    for i, (name, value) in enumerate(items):
        h = (value / top) * (height - 20)
        x = i * slot + slot * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{height - 14 - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}"><title>{escape(name)}: {value:,.0f}</title></rect>'
            f'<text x="{x + slot * 0.35:.1f}" y="{height - 2}">{escape(name[-5:])}</text>'
        )
    return Markup(
        f'<svg class="bars" viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
        f'role="img" aria-label="{escape(label)}">{"".join(parts)}</svg>'
    )


def run_seconds(run: Any) -> float | None:
    """A run's duration in seconds (None while it runs)."""
    return seconds(getattr(run, "started_at", None), getattr(run, "finished_at", None))


def pretty_json(text: str | None) -> str:
    """JSON text indented for reading (as it is when it does not parse)."""
    if not text:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return text


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def change_diff(change: Sequence[Any]) -> Markup:
    """One field's ``[old, new]`` from a module's history as a readable diff: a line diff
    for multi-line text (SQL), else old struck through and new beside it."""
    old, new = [*change, None, None][:2]
    a, b = _shown(old), _shown(new)
    if "\n" in a or "\n" in b:
        lines = difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=2)
        out = []
        for line in list(lines)[2:]:
            tag = "ins" if line.startswith("+") else "del" if line.startswith("-") else "span"
            out.append(f"<{tag}>{escape(line)}</{tag}>")
        joined = "\n".join(out)
        return Markup(f'<pre class="textdiff">{joined}</pre>')
    return Markup(f"<p><del>{escape(a)}</del> → <ins>{escape(b)}</ins></p>")


def _context(request: Request) -> dict[str, Any]:
    session = getattr(request.state, "session", None)
    return {
        "nav": NAV,
        "path": request.url.path,
        "user": session.user if session else None,
        "csrf": session_of(request).csrf if session else "",
        "csrf_field": CSRF_FIELD,
        "csrf_header": CSRF_HEADER,
        "statuses": RUN_STATUSES,
    }


def _make() -> Jinja2Templates:
    t = Jinja2Templates(directory=str(HERE / "templates"), context_processors=[_context])
    env = t.env
    env.filters.update(
        when=when,
        duration=duration,
        number=number,
        sql=sql,
        cron_words=cron_words,
        run_seconds=run_seconds,
        pretty_json=pretty_json,
    )
    env.globals.update(
        seconds=seconds,
        sparkline=sparkline,
        bars=bars,
        change_diff=change_diff,
        run_counters=COUNTERS,  # the counters' words, as the CLI and TUI show them
    )
    env.trim_blocks = True
    env.lstrip_blocks = True
    return t


templates = _make()


def page(
    request: Request, template: str, /, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render `template` (a whole page or a fragment) with `context`."""
    return templates.TemplateResponse(request, template, context, status_code=status_code)
