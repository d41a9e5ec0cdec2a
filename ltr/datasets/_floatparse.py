"""Correctly rounded decimal-to-binary64 conversion in Numba.

The svmlight and click-log readers parse millions of decimal numbers per
second. Python's ``float()`` (and therefore scikit-learn's reader) rounds
correctly: the result is the binary64 value nearest to the exact decimal,
ties to even. This module reproduces that result bit for bit without calling
into Python.

A decimal ``d = m * 10**q`` (``m`` the first 19 significant digits as an
integer) is converted by one of two exact methods:

1. *Clinger's fast path.* When ``m <= 2**53`` and ``|q| <= 22`` both ``m`` and
   ``10**|q|`` are exact binary64 numbers, so one IEEE multiplication or
   division (which rounds once, correctly) gives the answer. Almost all values
   in learning-to-rank files (``0.734``, ``-13.678102``, ``65535``) take it.

2. *An interval method on a 128-bit power table* (the idea behind the
   Eisel-Lemire algorithm, derived and checked independently here). For each
   ``q`` the table holds ``T = floor(10**q * 2**s)`` with ``2**127 <= T < 2**128``.
   With ``w = m * 2**z`` normalised to 64 bits, the exact scaled value
   ``V = w * 10**q * 2**s`` lies in ``[w*T, w*T + w)``. Rounding to 53 bits is
   decided by which cell of width ``2**h`` (``h`` = position of the rounding
   bit) contains ``V``; if both ends of the interval fall in the same cell and
   the lower end is not exactly on a midpoint, every value of the interval
   rounds the same way and the result is exact. Otherwise (a probability of
   about ``2**-60`` for random input) the caller is told to fall back.

Anything else -- more than 19 significant digits with non-zero digits
dropped, results that are subnormal, overflow to infinity, or undecidable
intervals -- is reported with status ``HARD`` and the caller parses the token
with Python's ``float``. The combination is therefore bit-exact with Python
on every input, which the tests check on adversarial cases (midpoints,
subnormals, 17-25 digit strings, extreme exponents).

Accepted syntax is the subset of Python's float syntax that occurs in data
files: optional sign, digits with an optional decimal point (``1.``, ``.5``),
optional exponent (``e``/``E``, optional sign, at least one digit), and the
case-insensitive words ``nan``, ``inf`` and ``infinity``. Python's digit
separators (``1_000``) are rejected.
"""
import math

import numpy as np
from numba import njit

from .._dtypes import NJIT

#: Status codes returned by :func:`parse_number`.
OK = 0
SYNTAX = 1
HARD = 2

_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U10 = np.uint64(10)
_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_S63 = np.uint64(63)
_TWO52 = np.uint64(1 << 52)
_TWO53 = np.uint64(1 << 53)

#: 10**0 .. 10**22, all exactly representable in binary64.
_EXACT_POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)

#: Range of decimal exponents covered by the 128-bit table. A 19-digit
#: mantissa times 10**q is a normal binary64 number only for q in about
#: [-342, 308]; outside the table the result is 0 or inf or subnormal, which
#: the fallback handles.
_Q_MIN = -350
_Q_MAX = 330


def _build_pow10_table():
    """128-bit truncations ``floor(10**q * 2**s)`` in ``[2**127, 2**128)``.

    Returns the high and low 64-bit halves and the binary shift ``s`` for
    every ``q`` in ``[_Q_MIN, _Q_MAX]``. Exact Python integers, so the table
    is exact by construction (no floating point is involved).
    """
    n = _Q_MAX - _Q_MIN + 1
    hi = np.empty(n, dtype=np.uint64)
    lo = np.empty(n, dtype=np.uint64)
    shift = np.empty(n, dtype=np.int64)
    low_mask = (1 << 64) - 1
    for i, q in enumerate(range(_Q_MIN, _Q_MAX + 1)):
        if q >= 0:
            p = 10**q
            s = 128 - p.bit_length()
            t = p << s if s >= 0 else p >> -s
        else:
            d = 10**-q
            s = 127 + d.bit_length()
            t = (1 << s) // d
        assert (1 << 127) <= t < (1 << 128)
        hi[i] = t >> 64
        lo[i] = t & low_mask
        shift[i] = s
    return hi, lo, shift


_POW10_HI, _POW10_LO, _POW10_SHIFT = _build_pow10_table()


@njit(**NJIT)
def _mul_64x64(a, b):
    """Full 128-bit product of two uint64 as (high, low) uint64 halves."""
    a_lo = a & _M32
    a_hi = a >> _S32
    b_lo = b & _M32
    b_hi = b >> _S32
    p0 = a_lo * b_lo
    p1 = a_lo * b_hi
    p2 = a_hi * b_lo
    p3 = a_hi * b_hi
    mid = (p0 >> _S32) + (p1 & _M32) + (p2 & _M32)
    lo = (p0 & _M32) | (mid << _S32)
    hi = p3 + (p1 >> _S32) + (p2 >> _S32) + (mid >> _S32)
    return hi, lo


@njit(**NJIT)
def _leading_zeros(x):
    """Number of leading zero bits of a non-zero uint64 (binary search)."""
    n = 0
    if (x >> np.uint64(32)) == _U0:
        n += 32
        x = x << np.uint64(32)
    if (x >> np.uint64(48)) == _U0:
        n += 16
        x = x << np.uint64(16)
    if (x >> np.uint64(56)) == _U0:
        n += 8
        x = x << np.uint64(8)
    if (x >> np.uint64(60)) == _U0:
        n += 4
        x = x << np.uint64(4)
    if (x >> np.uint64(62)) == _U0:
        n += 2
        x = x << np.uint64(2)
    if (x >> _S63) == _U0:
        n += 1
    return n


@njit(**NJIT)
def decimal_to_double(mant, exp10):
    """Binary64 nearest to ``mant * 10**exp10`` (ties to even), if decidable.

    Parameters
    ----------
    mant : uint64
        Decimal significand, ``0 < mant < 2**64``.
    exp10 : int
        Decimal exponent.

    Returns
    -------
    value : float
        The correctly rounded magnitude (valid only when ``ok``).
    ok : bool
        False when the exact answer could not be decided here (subnormal or
        overflowing result, exponent outside the table, or an interval that
        straddles a rounding boundary); the caller must then use an exact
        arbitrary-precision conversion.
    """
    # Clinger: both operands exact, one correctly rounded IEEE operation.
    if exp10 >= -22 and exp10 <= 22 and mant <= _TWO53:
        v = float(mant)
        if exp10 >= 0:
            return v * _EXACT_POW10[exp10], True
        return v / _EXACT_POW10[-exp10], True
    if exp10 < _Q_MIN or exp10 > _Q_MAX:
        return 0.0, False
    clz = _leading_zeros(mant)
    w = mant << np.uint64(clz)
    k = exp10 - _Q_MIN
    t_hi = _POW10_HI[k]
    t_lo = _POW10_LO[k]
    # L = w * T as three 64-bit limbs (l2, l1, l0); w*T < 2**192.
    a1, a0 = _mul_64x64(w, t_lo)
    b1, b0 = _mul_64x64(w, t_hi)
    l0 = a0
    l1 = b0 + a1
    l2 = b1
    if l1 < b0:
        l2 += _U1
    # U = L + (w - 1): the largest integer the exact scaled value can floor to.
    d = w - _U1
    u0 = l0 + d
    u1 = l1
    u2 = l2
    if u0 < l0:
        u1 = l1 + _U1
        if u1 == _U0:
            u2 = l2 + _U1
            if u2 == _U0:
                return 0.0, False
    # Top bit of L is bit 191 or 190 (w >= 2**63, T >= 2**127). Keep 53 bits
    # plus the rounding bit: cells of width 2**h with h = top - 53, i.e. a
    # shift of 10 or 9 inside the top limb.
    if (l2 >> _S63) != _U0:
        top = 191
    else:
        top = 190
    h = top - 53
    sh = np.uint64(h - 128)
    j_lo = l2 >> sh
    j_hi = u2 >> sh
    if j_lo != j_hi:
        return 0.0, False
    if (j_lo & _U1) == _U0:
        m = j_lo >> _U1
    else:
        rest = l2 & ((_U1 << sh) - _U1)
        if rest == _U0 and l1 == _U0 and l0 == _U0:
            # The lower end sits exactly on a midpoint: a tie we cannot
            # tell apart from values just above it.
            return 0.0, False
        m = (j_lo >> _U1) + _U1
    e2 = h + 1 - clz - _POW10_SHIFT[k]
    if m == _TWO53:
        m = _TWO52
        e2 += 1
    # m in [2**52, 2**53): the value is normal iff its exponent e2 + 52 is
    # in [-1022, 1023]; subnormals would need a different rounding position.
    if e2 + 52 > 1023 or e2 + 52 < -1022:
        return 0.0, False
    return math.ldexp(float(m), int(e2)), True


@njit(**NJIT)
def _lower(c):
    """ASCII lower case of a byte (only used on letters)."""
    return c | 0x20


@njit(**NJIT)
def _long_significand(buf, start, n_int, n_frac):
    """First 19 significant digits of a digit run longer than 19 characters.

    ``buf[start:]`` holds ``n_int`` integer digits, then (if ``n_frac``) a
    point and ``n_frac`` fraction digits. Returns ``(mant, exp10,
    dropped_nonzero)`` with the value equal to ``mant * 10**exp10`` exactly
    unless ``dropped_nonzero`` (non-zero digits beyond the 19th).
    """
    mant = _U0
    n_sig = 0
    exp10 = 0
    dropped_nonzero = False
    for t in range(n_int):
        c = buf[start + t]
        if n_sig < 19:
            if mant != _U0 or c != 48:
                mant = mant * _U10 + np.uint64(c - 48)
                n_sig += 1
        else:
            exp10 += 1
            if c != 48:
                dropped_nonzero = True
    frac = start + n_int + 1
    for t in range(n_frac):
        c = buf[frac + t]
        if n_sig < 19:
            if mant != _U0 or c != 48:
                mant = mant * _U10 + np.uint64(c - 48)
                n_sig += 1
            exp10 -= 1
        elif c != 48:
            dropped_nonzero = True
    return mant, exp10, dropped_nonzero


@njit(**NJIT)
def parse_number(buf, pos, end, compute=True):
    """Parse one decimal number starting at ``buf[pos]``.

    Parameters
    ----------
    buf : uint8 array
        Raw bytes.
    pos, end : int
        Start of the token and end of the readable region.
    compute : bool, default=True
        False only validates and classifies (``OK``/``HARD``): the value is
        not computed when the fast path applies (0.0 is returned), which a
        counting pass uses to save the floating-point work.

    Returns
    -------
    value : float
        The correctly rounded binary64 value when ``status == OK``.
    status : int
        ``OK``, ``SYNTAX`` (not a number) or ``HARD`` (valid number whose
        exact conversion must be done by the caller, e.g. with ``float``).
    next_pos : int
        Index of the first byte after the number. The caller checks that a
        delimiter follows.
    """
    i = pos
    neg = False
    if i < end and (buf[i] == 45 or buf[i] == 43):  # '-' '+'
        neg = buf[i] == 45
        i += 1
    if i >= end:
        return 0.0, SYNTAX, i
    c = buf[i]
    if c == 110 or c == 78 or c == 105 or c == 73:  # n N i I
        if i + 3 <= end and _lower(buf[i]) == 110 and _lower(buf[i + 1]) == 97 and _lower(buf[i + 2]) == 110:
            # copysign: Numba's unary minus does not flip the sign bit of NaN.
            return math.copysign(np.nan, -1.0 if neg else 1.0), OK, i + 3
        if i + 3 <= end and _lower(buf[i]) == 105 and _lower(buf[i + 1]) == 110 and _lower(buf[i + 2]) == 102:
            j = i + 3
            if (
                j + 5 <= end
                and _lower(buf[j]) == 105
                and _lower(buf[j + 1]) == 110
                and _lower(buf[j + 2]) == 105
                and _lower(buf[j + 3]) == 116
                and _lower(buf[j + 4]) == 121
            ):
                j += 5
            v = np.inf
            return (-v if neg else v), OK, j
        return 0.0, SYNTAX, i

    # Digits: accumulate everything; with at most 19 digits the significand
    # is exact (leading zeros are harmless). Longer runs are redone carefully.
    digits_start = i
    mant = _U0
    while i < end:
        c = buf[i]
        if c < 48 or c > 57:
            break
        mant = mant * _U10 + np.uint64(c - 48)
        i += 1
    n_int = i - digits_start
    n_frac = 0
    if i < end and buf[i] == 46:  # '.'
        i += 1
        frac_start = i
        while i < end:
            c = buf[i]
            if c < 48 or c > 57:
                break
            mant = mant * _U10 + np.uint64(c - 48)
            i += 1
        n_frac = i - frac_start
    if n_int + n_frac == 0:
        return 0.0, SYNTAX, i
    exp10 = -n_frac
    dropped_nonzero = False
    if n_int + n_frac > 19:
        mant, exp10, dropped_nonzero = _long_significand(buf, digits_start, n_int, n_frac)
    # Exponent.
    if i < end and (buf[i] == 101 or buf[i] == 69):  # 'e' 'E'
        i += 1
        e_neg = False
        if i < end and (buf[i] == 45 or buf[i] == 43):
            e_neg = buf[i] == 45
            i += 1
        e = 0
        n_exp_digits = 0
        while i < end:
            c = buf[i]
            if c < 48 or c > 57:
                break
            if e < 100000:  # clamp: beyond this the value is 0 or inf anyway
                e = e * 10 + (int(c) - 48)
            n_exp_digits += 1
            i += 1
        if n_exp_digits == 0:
            return 0.0, SYNTAX, i
        exp10 += -e if e_neg else e
    if mant == _U0:
        return (-0.0 if neg else 0.0), OK, i
    if dropped_nonzero:
        return 0.0, HARD, i
    if not compute and exp10 >= -22 and exp10 <= 22 and mant <= _TWO53:
        return 0.0, OK, i
    v, ok = decimal_to_double(mant, exp10)
    if not ok:
        return 0.0, HARD, i
    return (-v if neg else v), OK, i


@njit(**NJIT)
def parse_tokens(buf, starts, ends, out, status):
    """Parse many tokens (``buf[starts[i]:ends[i]]``); a helper for tests.

    ``status[i]`` is ``SYNTAX`` also when the number does not fill the
    whole token (trailing characters).
    """
    for t in range(starts.shape[0]):
        v, st, j = parse_number(buf, starts[t], ends[t])
        if st == OK and j != ends[t]:
            st = SYNTAX
        out[t] = v
        status[t] = st


def parse_float_strings(strings):
    """Parse a sequence of ``bytes``/``str`` exactly like ``float`` would.

    Tokens with status ``HARD`` are converted with Python's ``float``; tokens
    that are not numbers raise ``ValueError``. Used by the tests and by the
    Baidu-ULTR reader for small columns.
    """
    encoded = [s.encode("ascii") if isinstance(s, str) else bytes(s) for s in strings]
    lengths = np.fromiter((len(s) for s in encoded), dtype=np.int64, count=len(encoded))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    buf = np.frombuffer(b"".join(encoded), dtype=np.uint8) if encoded else np.empty(0, np.uint8)
    out = np.empty(len(encoded), dtype=np.float64)
    status = np.empty(len(encoded), dtype=np.int8)
    parse_tokens(buf, starts, ends, out, status)
    for t in np.flatnonzero(status != OK):
        if status[t] == SYNTAX:
            raise ValueError(f"could not convert {encoded[t]!r} to a float")
        out[t] = float(encoded[t])
    return out
