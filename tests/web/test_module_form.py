"""The module form carries every module setting (pipekit/module_settings.py declares
them; the form's fields are written by hand in ``_module_fields.html``)."""

from __future__ import annotations

from pathlib import Path

import pipekit.web
from pipekit.module_settings import SETTINGS
from pipekit.web.forms import MODULE_CHECKBOXES, MODULE_TEXT

FORM = Path(pipekit.web.__file__).parent / "templates" / "_module_fields.html"


def test_the_module_form_has_a_field_for_every_setting() -> None:
    text = FORM.read_text()
    missing = [n for n in (*MODULE_TEXT, *MODULE_CHECKBOXES) if f'name="{n}"' not in text]
    assert not missing, f"_module_fields.html has no field for {missing}"
    bools = {s.name for s in SETTINGS if s.kind == "bool"}
    assert bools == set(MODULE_CHECKBOXES)
