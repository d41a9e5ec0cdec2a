"""The Numba decimal parser must equal Python's float() bit for bit."""
from decimal import Decimal, getcontext
import random
import struct

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ltr.datasets import _floatparse as fp


def bits(x):
    return struct.pack("<d", x)


def assert_same_as_python(strings):
    got = fp.parse_float_strings(strings)
    for s, v in zip(strings, got):
        ref = float(s)
        if np.isnan(ref):
            assert np.isnan(v), s
            assert np.signbit(v) == np.signbit(ref), s
        else:
            assert bits(v) == bits(ref), (s, v, ref)


def statuses(strings):
    enc = [s.encode() for s in strings]
    lengths = np.array([len(s) for s in enc], dtype=np.int64)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    buf = np.frombuffer(b"".join(enc), dtype=np.uint8)
    out = np.empty(len(enc))
    status = np.empty(len(enc), dtype=np.int8)
    fp.parse_tokens(buf, starts, ends, out, status)
    return out, status


TRICKY = [
    "0", "-0", "+0", "0.0", "-0.0", "00012", "1", "-1", "+1", "1.5", ".5", "-.5", "5.", "1e5", "1E5", "1e+5",
    "1e-5", "1.5e-3", "-2.5E+03", "123456789", "0.1", "0.2", "0.3", "0.30000000000000004", "3.141592653589793",
    "2.718281828459045", "1e22", "1e23", "9007199254740992", "9007199254740993", "9007199254740994",
    "9007199254740995", "18014398509481985", "1.7976931348623157e308", "1.7976931348623158e308",
    "1.7976931348623159e308", "2e308", "1e309", "2.2250738585072014e-308", "2.2250738585072011e-308",
    "2.2250738585072012e-308", "4.9406564584124654e-324", "5e-324", "2.4703282292062327e-324",
    "2.4703282292062328e-324", "1e-400", "0e999999", "1e-999999", "123456789012345678901234567890",
    "1.00000000000000000000000000001", "0.000000000000000000000000000000000001234", "7.2057594037927933e16",
    "1.0000000000000002", "1.00000000000000011102230246251565404236316680908203125",
    "1.000000000000000111022302462515654042363166809082031250001",
    "1.000000000000000111022302462515654042363166809082031249999",
    "nan", "NaN", "-nan", "+nan", "inf", "-inf", "+INF", "Infinity", "-infinity", "iNfInItY",
    "0.000001", "65535", "-13.678102", "0.007477", "3.4028234663852886e+38", "1.401298464324817e-45",
]


def test_tricky_values_bit_exact():
    assert_same_as_python(TRICKY)


def test_clinger_values_need_no_fallback():
    _, status = statuses(["0.734", "-13.678102", "65535", "1e22", "123456789012345e-22", "9007199254740992"])
    assert np.all(status == fp.OK)


@pytest.mark.parametrize("s", ["", "-", "+", ".", "-.", "e5", "1e", "1e+", "1e-", "1_000", "abc", "nanx", "infx",
                               "1.2.3", "0x10", "--1", "+-1", "1e5.5", " 1", "1 ", "in", "na", "1,5", "１"])
def test_rejects_non_numbers(s):
    _, status = statuses([s]) if s.isascii() else (None, [fp.SYNTAX])
    assert status[0] == fp.SYNTAX
    with pytest.raises(ValueError):
        fp.parse_float_strings([s])


def test_random_doubles_and_midpoints():
    """repr of random doubles, exact midpoints between neighbours and strings just beside them."""
    rng = random.Random(12345)
    getcontext().prec = 800
    strings = []
    for _ in range(4000):
        x = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if not np.isfinite(x):
            continue
        strings.append(repr(x))
        y = np.nextafter(x, np.inf)
        if not np.isfinite(y) or x == 0:
            continue
        mid = (Decimal(x) + Decimal(float(y))) / 2  # exact midpoint (a tie)
        strings.append(format(mid, "e"))
        for digits in (17, 20, 25, 40):
            getcontext().prec = digits
            strings.append(format(+mid, "e"))
            getcontext().prec = 800
        ulp = Decimal(float(y)) - Decimal(x)
        strings.append(format(mid + ulp / Decimal(10**12), "e"))
        strings.append(format(mid - ulp / Decimal(10**12), "e"))
    assert_same_as_python(strings)


def test_fallback_used_only_when_needed():
    # A midpoint with 40 significant digits cannot be decided from 19 digits: HARD.
    _, status = statuses(["9007199254740993", "1.00000000000000011102230246251565404236316680908203125"])
    assert status[0] == fp.HARD and status[1] == fp.HARD
    # but the public helper still returns Python's value
    assert_same_as_python(["9007199254740993", "1.00000000000000011102230246251565404236316680908203125"])


def test_power_table_is_exact():
    """T = floor(10**q * 2**s) with 2**127 <= T < 2**128, checked with exact integers."""
    for i, q in enumerate(range(fp._Q_MIN, fp._Q_MAX + 1)):
        t = (int(fp._POW10_HI[i]) << 64) | int(fp._POW10_LO[i])
        s = int(fp._POW10_SHIFT[i])
        assert (1 << 127) <= t < (1 << 128)
        if q >= 0:
            exact_num, exact_den = 10**q, 1
        else:
            exact_num, exact_den = 1, 10**-q
        if s >= 0:
            exact_num <<= s
        else:
            exact_den <<= -s
        assert t == exact_num // exact_den, q


@pytest.mark.parametrize("mant, exp10", [(1, 0), (123456789012345678, -30), (9999999999999999999, 300),
                                         (10000000000000000000 - 1, -320), (17976931348623157, 292),
                                         (22250738585072014, -324)])
def test_decimal_to_double_direct(mant, exp10):
    v, ok = fp.decimal_to_double(np.uint64(mant), exp10)
    ref = float(f"{mant}e{exp10}")
    if ok:
        assert bits(v) == bits(ref)
    else:  # only allowed where the fallback is necessary (subnormal / ambiguous)
        assert ref < 2.2250738585072014e-308 or ref == np.inf


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_hypothesis_repr_roundtrip(x):
    assert_same_as_python([repr(x), f"{x:.17e}", f"{x:.25e}", f"{x:.3e}"])


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**30), st.integers(-400, 400), st.booleans())
def test_hypothesis_integer_mantissa(m, e, neg):
    s = ("-" if neg else "") + f"{m}e{e}"
    assert_same_as_python([s])
