"""The one slug function for column names from outside (API keys, CSV headers, propose)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipekit.connectors.names import MAX_LENGTH, slug, unique_slugs
from pipekit.engine.propose import safe_name


def test_slugs_fold_to_ascii_and_keep_nesting() -> None:
    assert slug("Prénom Client") == "prenom_client"
    assert slug("Ölçü (m²)") == "olcu_m2"
    assert slug("Город") == "gorod"
    assert slug("DCORD#") == "dcord"
    assert slug("2nd qty") == "c_2nd_qty"
    assert slug("customer__Address__ZIP") == "customer__address__zip"
    assert slug("!!!") == "col"


def test_long_names_are_cut_and_stay_apart() -> None:
    a, b = "x" * 80 + "a", "x" * 80 + "b"
    assert len(slug(a)) == MAX_LENGTH
    assert slug(a) != slug(b)


def test_unique_slugs_number_the_collisions() -> None:
    assert unique_slugs(["a b", "a_b", "A-B", "c"]) == ["a_b", "a_b_2", "a_b_3", "c"]


def test_propose_uses_the_same_function() -> None:
    assert safe_name("Prénom Client") == slug("Prénom Client")


@given(st.lists(st.text(max_size=90), max_size=12))
def test_any_names_give_unique_short_identifiers(names: list[str]) -> None:
    out = unique_slugs(names)
    assert len(set(out)) == len(out)
    for name in out:
        assert len(name) <= MAX_LENGTH
        assert name.isascii() and (name[0].isalpha() or name[0] == "_")
        assert all(c.isalnum() or c == "_" for c in name)
