"""GB 11643 citizen IDs, GB 32100 credit codes, masking, encryption and keyed hashes."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, strategies as st

from civicgrid.errors import InvalidInput
from civicgrid.people import crypto
from civicgrid.people.identity import (
    make_citizen_id,
    mask_id,
    mask_phone,
    normalise_phone,
    parse_citizen_id,
    parse_uscc,
)


def test_known_valid_id_gives_birth_date_and_gender():
    cid = parse_citizen_id("11010519491231002X")
    assert cid.number == "11010519491231002X"
    assert cid.birth_date == dt.date(1949, 12, 31)
    assert cid.gender == "F"


def test_lowercase_x_and_separators_are_normalised():
    assert parse_citizen_id("110105 19491231 002x").number == "11010519491231002X"


def test_wrong_check_digit_is_refused_in_both_languages():
    with pytest.raises(InvalidInput) as exc:
        parse_citizen_id("110105194912310021")
    assert "校验码" in exc.value.detail_zh and "check digit" in exc.value.detail_en


@pytest.mark.parametrize("bad", ["11010519490230002X", "110105199913310015", "110105" + "21000101" + "0013"])
def test_impossible_or_future_birth_dates_are_refused(bad):
    with pytest.raises(InvalidInput):
        parse_citizen_id(bad)


@pytest.mark.parametrize("bad", ["", "12345", "1101051949123100", "11010519491231002Y", "A1010519491231002X"])
def test_malformed_numbers_are_refused(bad):
    with pytest.raises(InvalidInput):
        parse_citizen_id(bad)


def test_fifteen_digit_number_is_upgraded():
    cid = parse_citizen_id("130503670401001")
    assert cid.upgraded
    assert cid.number == "13050319670401001" + cid.number[-1] and len(cid.number) == 18
    assert parse_citizen_id(cid.number).number == cid.number
    assert cid.birth_date == dt.date(1967, 4, 1) and cid.gender == "M"


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)), st.integers(0, 999))
def test_generated_numbers_round_trip(born, seq):
    number = make_citizen_id("350102", born, seq)
    cid = parse_citizen_id(number)
    assert cid.birth_date == born
    assert cid.gender == ("M" if seq % 2 else "F")


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)), st.integers(0, 999),
       st.integers(0, 16), st.sampled_from("0123456789X"))
def test_any_single_character_change_is_caught(born, seq, pos, char):
    number = make_citizen_id("350102", born, seq)
    changed = number[:pos] + char + number[pos + 1:]
    if changed == number or (pos < 17 and char == "X"):
        return
    with pytest.raises(InvalidInput):
        cid = parse_citizen_id(changed)
        # A changed birth date may still be a real date; then the check digit must catch it.
        assert cid.number == number


def test_uscc_valid_and_check_character():
    assert parse_uscc("91110000600037341L") == "91110000600037341L"
    assert parse_uscc("9111 0000 6000 3734 1l") == "91110000600037341L"
    with pytest.raises(InvalidInput) as exc:
        parse_uscc("91110000600037341M")
    assert "MOD 31" in exc.value.detail_en
    with pytest.raises(InvalidInput):
        parse_uscc("9111000060003734")
    with pytest.raises(InvalidInput):
        parse_uscc("A1110000600037341L")


def test_masks():
    assert mask_id("350102198005170012") == "350102********0012"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id(None) is None and mask_phone("") == ""
    assert normalise_phone("+86 138-1234-5678") == "13812345678"
    with pytest.raises(InvalidInput):
        normalise_phone("call me")


def test_encryption_round_trip_is_randomised_and_bound_to_kind():
    a = crypto.encrypt("350102198005170012", kind="id")
    b = crypto.encrypt("350102198005170012", kind="id")
    assert a != b and b"350102" not in a
    assert crypto.decrypt(a, kind="id") == "350102198005170012"
    with pytest.raises(crypto.DataKeyError):
        crypto.decrypt(a, kind="phone")
    tampered = a[:-1] + bytes([a[-1] ^ 1])
    with pytest.raises(crypto.DataKeyError):
        crypto.decrypt(tampered, kind="id")


def test_lookup_hash_is_keyed_and_stable(monkeypatch):
    h1 = crypto.lookup_hash("13812345678", kind="phone")
    assert h1 == crypto.lookup_hash("13812345678", kind="phone")
    assert h1 != crypto.lookup_hash("13812345678", kind="id")
    from civicgrid.settings import get_settings

    monkeypatch.setattr(get_settings(), "data_key", "another-key")
    assert crypto.lookup_hash("13812345678", kind="phone") != h1


def test_production_refuses_the_default_data_key(monkeypatch):
    from civicgrid.settings import Settings

    with pytest.raises(ValueError, match="CIVICGRID_DATA_KEY"):
        Settings(environment="production", secret_key="s" * 32)
    assert Settings(environment="production", secret_key="s" * 32, data_key="k" * 32).data_key == "k" * 32
