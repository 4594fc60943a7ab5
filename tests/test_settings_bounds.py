"""Every setting of every experiment has a finite validated range, and ``--set`` parses numbers
strictly: absurd values are refused by ``replace_from_strings`` (a ``ValueError`` naming the
setting) before any work."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from scalesim.config import replace_from_strings
from scalesim.validate import parse_number
from scalesim.experiments import REGISTRY

ABSURD_NUMBERS = ["inf", "-inf", "nan", "1e400", "1e300", "-1e300", "１２", "1_000", "0x10", "1e", "", "--1"]
ABSURD_INTS = ["-1", "1e30", "99999999999999999999", "1.5", "4294967296e3"]


def _fields():
    for name, exp in sorted(REGISTRY.items()):
        s = exp.settings(True)
        hints = typing.get_type_hints(type(s))
        for f in dataclasses.fields(s):
            yield name, s, f.name, hints[f.name]


def _base(typ):
    while typing.get_origin(typ) is tuple:
        typ = typing.get_args(typ)[0]
    return typ


@pytest.mark.parametrize("name,settings,field,typ", list(_fields()), ids=lambda v: v if isinstance(v, str) else "")
def test_absurd_values_are_refused(name, settings, field, typ):
    base = _base(typ)
    if base is bool:
        values = ["maybe", "2", ""]
    elif base is str:
        values = ["no-such-choice", "", "é"]
    else:
        values = ABSURD_NUMBERS + (ABSURD_INTS if base is int else [])
    if typing.get_origin(typ) is tuple and typing.get_origin(typing.get_args(typ)[0]) is tuple:
        values = [f"{v}:{v}" for v in values] + ["1,2,3", "1:2:3"]
    accepted = []
    for text in values:
        try:
            replace_from_strings(settings, {field: text})
        except ValueError as e:
            assert field.rstrip("s")[:5] in str(e), (text, str(e))  # the message names the setting
        else:
            accepted.append(text)
    assert accepted == [], f"{name}: --set {field}=... accepted {accepted}"


def test_seed_range():
    s = REGISTRY["sgd-powerlaw"].settings(True)
    assert replace_from_strings(s, {"seed": str(2**32 - 1)}).seed == 2**32 - 1
    for bad in ("-1", str(2**32), "4.3e9"):
        with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 4294967295\]"):
            replace_from_strings(s, {"seed": bad})
    with pytest.raises(ValueError, match=r"--set seed: expected an integer"):
        replace_from_strings(s, {"seed": "1e29"})


def test_parse_number_is_strict():
    assert parse_number("1e6", "x", integer=True) == 10**6
    assert parse_number(" -2.5E-3 ", "x") == -2.5e-3
    assert parse_number("12345678901234567890", "x", integer=True) == 12345678901234567890
    for bad in ("inf", "nan", "1e400", "１２", "1_0", "0x1", "1+2j", "", "e5", "1.5.2"):
        with pytest.raises(ValueError, match="x: expected"):
            parse_number(bad, "x")
    with pytest.raises(ValueError, match="an integer"):
        parse_number("2.5", "x", integer=True)


def test_pairs_parse_as_colon_items():
    s = REGISTRY["rf-duality"].settings(True)
    assert replace_from_strings(s, {"pairs": "50:200,100:400"}).pairs == ((50, 200), (100, 400))
    with pytest.raises(ValueError, match="items like 1:2"):
        replace_from_strings(s, {"pairs": "50,200"})


@pytest.mark.parametrize("field", ["exponent_rtol", "ratio_tol"])
def test_tolerances_cannot_make_a_check_vacuous(field):
    s = REGISTRY["sgd-powerlaw"].settings(True)
    for bad in ("inf", "1e400", "2", "0", "-0.1"):
        with pytest.raises(ValueError, match=field):
            replace_from_strings(s, {field: bad})
