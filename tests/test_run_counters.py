"""The run counters' words: declared once, and docs/engine.md says each one."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from pipekit.run_counters import COUNTERS, counter_text

DOCS = Path(__file__).resolve().parents[1] / "docs" / "engine.md"


def test_every_counter_is_documented_with_its_word_and_meaning() -> None:
    text = DOCS.read_text()
    for c in COUNTERS:
        assert f"| `{c.field}` | **{c.word}**: {c.meaning} |" in text, c.field


def test_words_are_unique_and_the_text_leaves_out_what_is_not_known() -> None:
    assert len({c.word for c in COUNTERS}) == len(COUNTERS)
    run = SimpleNamespace(
        rows_read=1200,
        rows_inserted=1200,
        rows_replaced=None,
        rows_deleted=0,
        rows_cleared=0,
        row_count=5000,
    )
    assert counter_text(run) == "read 1,200, inserted 1,200, deleted 0, cleared 0, total 5,000"
    assert counter_text(run, skip_zero=True) == "read 1,200, inserted 1,200, total 5,000"
