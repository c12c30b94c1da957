"""Cron expressions: what is wrong with one, in words that name the field.

croniter (which the scheduler uses to find the next fire) only says valid or
not, and takes six- and seven-field expressions (seconds, years) that the
scheduler cannot honour: it fires once per minute slot. Every place that accepts
a cron (schedules, a module's full_refresh_cron, `apply`) checks it here, so the
message is the same everywhere.
"""

from __future__ import annotations

#: the five fields of a cron expression: name, lowest, highest, names allowed
_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    (
        "month",
        1,
        12,
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    ),
    ("day-of-week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)
HELP = "expected five fields 'minute hour day-of-month month day-of-week', e.g. '{example}'"


def _cron_value(text: str, low: int, high: int, names: tuple[str, ...]) -> int | None:
    if text.lower() in names:
        return names.index(text.lower()) + low
    return int(text) if text.isdecimal() and text.isascii() else None


def _field_problem(text: str, example: str) -> str | None:
    parts = text.split()
    if len(parts) != 5:
        fields = f"{len(parts)} field{'s' if len(parts) != 1 else ''}"
        return f"{fields} given; {HELP.format(example=example)}"
    for part, (field, low, high, names) in zip(parts, _CRON_FIELDS, strict=True):
        for item in part.split(","):
            body, slash, step = item.partition("/")
            if slash and not (step.isdecimal() and step.isascii() and int(step) > 0):
                return f"the {field} field's step {step!r} is not a whole number above 0"
            if body == "*":
                continue
            bounds = body.split("-")
            if len(bounds) > 2 or not all(bounds):
                return f"the {field} field {item!r} is not a number, a range a-b or *"
            values: list[int] = []
            for bound in bounds:
                value = _cron_value(bound, low, high, names)
                if value is None:
                    hint = f" or a name ({names[0]}…{names[-1]})" if names else ""
                    return f"the {field} field {bound!r} is not a number{hint}"
                if not low <= value <= high:
                    return f"the {field} field {value} is out of range {low}-{high}"
                values.append(value)
            if values != sorted(values):
                return f"the {field} field's range {body!r} runs backwards"
    return None


def cron_problem(text: str, example: str = "0 2 * * *") -> str | None:
    """What is wrong with the five-field cron `text` (stripped), naming the field and
    the allowed range; None when it is fine."""
    if not text.strip():
        return f"empty; {HELP.format(example=example)}"
    problem = _field_problem(text.strip(), example)
    if problem is not None:
        return problem
    # croniter costs tens of ms to import: only writes that carry a cron need it
    from croniter import croniter

    if not croniter.is_valid(text.strip()):
        return f"not a valid cron expression; {HELP.format(example=example)}"
    return None
