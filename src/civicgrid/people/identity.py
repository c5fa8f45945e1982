"""Identifiers of people and organisations: validation, normalisation and masking.

Citizen ID numbers follow GB 11643-1999 (18 characters, MOD 11-2 check digit, a real
birth date; 15-digit numbers issued before 1999 are upgraded). Unified social credit
codes follow GB 32100-2015 (18 characters, MOD 31 check). The check-digit arithmetic
comes from python-stdnum; what is ours is the wording of each refusal and the 15→18
upgrade. The birth-place lookup of ``stdnum.cn.ric.validate`` is deliberately not
used: its table lags new divisions and would refuse real people.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from stdnum.cn import ric, uscc

from civicgrid.errors import InvalidInput


@dataclass(frozen=True)
class CitizenId:
    """A valid 18-character citizen ID number and what it tells."""

    number: str
    birth_date: dt.date
    gender: str  # "M" | "F" (the sequence code is odd for men, even for women)
    upgraded: bool = False  # given as a legacy 15-digit number


_ID_RE = re.compile(r"^\d{17}[\dX]$")
_ID15_RE = re.compile(r"^\d{15}$")
_SEPARATORS = str.maketrans("", "", " -\u3000\t")


def _refuse(zh: str, en: str) -> InvalidInput:
    return InvalidInput(f"公民身份号码无效：{zh}", f"Invalid citizen ID number: {en}")


def _birth_date(digits8: str, today: dt.date) -> dt.date:
    try:
        born = dt.date(int(digits8[:4]), int(digits8[4:6]), int(digits8[6:8]))
    except ValueError:
        raise _refuse(f"出生日期 {digits8} 不是真实日期", f"birth date {digits8} is not a real date") from None
    if born.year < 1900 or born > today:
        raise _refuse(f"出生日期 {born.isoformat()} 不在合理范围内", f"birth date {born.isoformat()} is out of range")
    return born


def parse_citizen_id(raw: str, *, today: dt.date | None = None) -> CitizenId:
    """Validate and normalise a citizen ID number (GB 11643); 15 digits are upgraded to 18."""
    today = today or dt.date.today()
    number = (raw or "").translate(_SEPARATORS).upper()
    upgraded = False
    if _ID15_RE.match(number):
        # Before 1999 numbers had a 2-digit year (always 19xx) and no check digit.
        body = number[:6] + "19" + number[6:]
        number = body + ric.calc_check_digit(body + "0")
        upgraded = True
    if len(number) != 18:
        raise _refuse(f"应为18位（或旧版15位），实际 {len(number)} 位", f"expected 18 (or legacy 15) characters, got {len(number)}")
    if not _ID_RE.match(number):
        raise _refuse("前17位应为数字，末位为数字或X", "the first 17 characters must be digits, the last a digit or X")
    born = _birth_date(number[6:14], today)
    if ric.calc_check_digit(number) != number[-1]:
        raise _refuse("校验码不符（GB 11643 MOD 11-2）", "check digit does not match (GB 11643 MOD 11-2)")
    gender = "M" if int(number[16]) % 2 == 1 else "F"
    return CitizenId(number, born, gender, upgraded)


def is_citizen_id(raw: str) -> bool:
    """Whether ``raw`` is a valid (or upgradable) citizen ID number."""
    try:
        parse_citizen_id(raw)
    except InvalidInput:
        return False
    return True


def make_citizen_id(region6: str, born: dt.date, sequence: int) -> str:
    """A valid ID number for a birth place, date and 3-digit sequence (test data, demo, benchmark)."""
    body = f"{region6}{born:%Y%m%d}{sequence % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def parse_uscc(raw: str) -> str:
    """Validate and normalise a unified social credit code (GB 32100, MOD 31 check)."""
    code = (raw or "").translate(_SEPARATORS).upper()
    try:
        return uscc.validate(code)
    except uscc.InvalidLength:
        raise InvalidInput(f"统一社会信用代码应为18位，实际 {len(code)} 位",
                           f"A unified social credit code has 18 characters, got {len(code)}") from None
    except uscc.InvalidChecksum:
        raise InvalidInput("统一社会信用代码校验码不符（GB 32100 MOD 31）",
                           "The unified social credit code's check character does not match (GB 32100 MOD 31)") from None
    except uscc.ValidationError:
        raise InvalidInput("统一社会信用代码格式不正确（前8位为数字，其后不得含 I、O、Z、S、V）",
                           "The unified social credit code is malformed (8 leading digits; no I, O, Z, S, V)") from None


_PHONE_RE = re.compile(r"^\+?[\d\-\s()]{5,20}$")


def normalise_phone(raw: str | None) -> str | None:
    """A phone number with separators removed (mainland mobiles keep 11 digits), or None if empty."""
    if raw is None:
        return None
    value = str(raw).strip()
    if not value:
        return None
    if not _PHONE_RE.match(value):
        raise InvalidInput(f"联系电话 {value[:3]}… 格式不正确", "The phone number is malformed")
    digits = re.sub(r"[^\d+]", "", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def mask_id(number: str | None) -> str | None:
    """350102********1234: region and last four kept, birth date and sequence hidden."""
    if not number:
        return number
    if len(number) >= 15:
        return number[:6] + "*" * (len(number) - 10) + number[-4:]
    if len(number) <= 4:
        return "*" * len(number)
    return number[:1] + "*" * (len(number) - 3) + number[-2:]


def mask_phone(phone: str | None) -> str | None:
    """138****5678: enough to recognise, not enough to call."""
    if not phone:
        return phone
    if len(phone) <= 4:
        return "*" * len(phone)
    if len(phone) < 8:
        return phone[:1] + "*" * (len(phone) - 3) + phone[-2:]
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
