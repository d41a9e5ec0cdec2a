"""The validation layer: every rule about user input lives here, once.

`LambdaRanker.fit` / `predict` / `score`, the metrics, the objectives, the
model files, the data loaders and the command line all check their inputs
through these functions, so a rule (say "labels must be integers below 31
with the exponential gain") has one implementation and one wording. Every
error names the argument (``y``, ``qid``, ``eval_set[1]``, ...) and says
what is wrong and how to fix it; ``docs/errors.md`` lists every case with
its error type and the test that checks it.

Errors are ``ValueError`` / ``TypeError`` subclasses, so ``except
ValueError`` keeps working; catch `LTRValueError` to tell bad input from
bugs. ``FeatureTypeError`` (a non-numeric feature column) is both a
``TypeError`` and a `FeatureError`.

Allowed on purpose (no error):

* NaN in X: a missing value (its own bin; splits learn where it goes). A
  column that is entirely NaN is allowed and is never chosen for a split
  (no threshold separates its rows), like a constant column.
* Queries with one document or with all labels equal: they carry no
  ranking signal, get zero gradients, and are counted
  (``objective_.n_degenerate_queries_``, logged on the ``'ltr'`` logger).
* Large queries (100k documents): LambdaMART's pair loop is O(n k) with the
  truncation level k, not O(n^2).
"""
import json
import logging
import math
import numbers
import os

import numpy as np
from numba import njit, prange
from scipy import sparse

from ._dtypes import NJIT, NJIT_PARALLEL

#: Logger of the package. Fit reports data facts (degenerate queries) on it
#: at INFO level; ``logging.basicConfig(level=logging.INFO)`` shows them.
logger = logging.getLogger("ltr")

#: With ``gain='exp'`` (``2**y - 1``, no ``label_gain``) labels must be below
#: this: LightGBM's default gain table has 31 entries, and a gain of 2**31
#: swamps every other document of a query.
EXP_GAIN_MAX_LABEL = 31


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------
class LTRValueError(ValueError):
    """Base class of ltr's input errors (a ``ValueError``)."""


class LabelError(LTRValueError):
    """Bad labels: NaN or inf, negative, fractional or too large for the gain."""


class QueryError(LTRValueError):
    """Bad query ids (``qid``) or query sizes (``group``)."""


class FeatureError(LTRValueError):
    """Bad feature matrix: no rows, no features, infinity, wrong width or names."""


class FeatureTypeError(FeatureError, TypeError):
    """A feature column that is not numeric (both a ``TypeError`` and a `FeatureError`)."""


class ModelFormatError(LTRValueError):
    """A model file that is not an ltr model, is damaged, or is too new."""


# ---------------------------------------------------------------------------
# Kernels: one pass, no allocation beyond a flag per row
# ---------------------------------------------------------------------------
LABEL_OK, LABEL_NONFINITE, LABEL_NEGATIVE, LABEL_FRACTION, LABEL_TOO_LARGE = range(5)


@njit(**NJIT)
def first_bad_label(y, non_negative, need_integer, label_limit):
    """First label breaking the rule, as ``(code, row, max_label)``.

    Labels must be finite; with `non_negative` also ``>= 0``; with
    `need_integer` whole numbers; and ``< label_limit``. `max_label` is the
    largest label seen before the first problem (0 when none is positive).
    Cheap enough to run at every evaluation of a validation set.
    """
    max_label = 0.0
    for i in range(y.shape[0]):
        v = y[i]
        if not np.isfinite(v):
            return LABEL_NONFINITE, i, max_label
        if non_negative and v < 0.0:
            return LABEL_NEGATIVE, i, max_label
        if need_integer and v != math.floor(v):
            return LABEL_FRACTION, i, max_label
        if v >= label_limit:
            return LABEL_TOO_LARGE, i, max_label
        if v > max_label:
            max_label = v
    return LABEL_OK, -1, max_label


@njit(**NJIT)
def first_nonfinite(a):
    """Index of the first NaN or infinite value of 1-d `a`, or -1."""
    for i in range(a.shape[0]):
        if not np.isfinite(a[i]):
            return i
    return -1


@njit(**NJIT_PARALLEL)
def _flag_rows_with_inf(X, flags):
    """flags[i] = 1 when row i of the 2-d float array X holds +-inf (OUT)."""
    n, m = X.shape
    for i in prange(n):
        bad = 0
        for j in range(m):
            if np.isinf(X[i, j]):
                bad = 1
                break
        flags[i] = bad


@njit(**NJIT)
def _first_row_with_inf(X):
    """Serial scan for small X (waking threads costs more than the scan): first row with +-inf, or -1."""
    n, m = X.shape
    for i in range(n):
        for j in range(m):
            if np.isinf(X[i, j]):
                return i
    return -1


#: Below this many values X is scanned for infinity on one thread.
PARALLEL_SCAN_MIN_VALUES = 1 << 20


# ---------------------------------------------------------------------------
# Small conversions
# ---------------------------------------------------------------------------
def as_numeric_1d(a, name, *, error=LTRValueError):
    """`a` as a contiguous 1-d float64 array; an (n, 1) or (1, n) array is flattened.

    Raises `error` naming `name` when `a` is None, not 1-d or not numbers.
    """
    if a is None:
        raise error(f"{name} is None: pass one value per row")
    arr = np.asarray(a)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise error(f"{name} must be 1-dimensional, got an array of shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        if arr.dtype.kind == "c":
            raise error(f"{name} must hold real numbers, got complex values")
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise error(f"{name} must hold numbers, got dtype {arr.dtype}") from None
    return np.ascontiguousarray(arr, dtype=np.float64)


def check_n_entries(n_entries, n_samples, name, *, what="X", item="value", error=LTRValueError):
    """Raise `error` unless a per-row argument has one entry per row of `what`.

    One wording for every per-row argument (labels, query ids, weights,
    positions), whichever entry point (estimator, metric, loader, command
    line) meets it.
    """
    if n_samples is not None and n_entries != n_samples:
        raise error(f"{name} has {n_entries} entries but {what} has {n_samples} rows: pass one {item} per row")


# ---------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------
class LabelRule:
    """What labels must be: finite, and optionally non-negative, integer, below a limit.

    Build one with `label_rule`. `kind` says where the limit comes from
    ('exp', 'table', 'max_grade' or None) so that the message can say how to
    lift it.
    """

    __slots__ = ("non_negative", "need_integer", "limit", "kind", "table_size", "max_grade", "allow_linear")

    def __init__(self, non_negative=False, need_integer=False, limit=np.inf, kind=None, table_size=0,
                 max_grade=None, allow_linear=False):
        self.non_negative = non_negative
        self.need_integer = need_integer
        self.limit = float(limit)
        self.kind = kind
        self.table_size = table_size
        self.max_grade = max_grade
        self.allow_linear = allow_linear

    def describe_gain(self):
        return "gain='exp'" if self.kind == "exp" else "the label_gain table"


def label_rule(gain=None, label_gain=None, *, max_grade=None, allow_linear=False):
    """The label rule of a gain.

    Parameters
    ----------
    gain : {None, 'exp', 'linear'} or array-like
        None: any finite label (pointwise losses). 'exp' (``2**y - 1``, no
        `label_gain`): integers in ``[0, 31)``. 'linear': any label >= 0.
        An array is a gain table, as `label_gain`.
    label_gain : array-like or None
        Gain of each integer label; labels must be integers in
        ``[0, len(label_gain))``. Takes precedence over `gain`.
    max_grade : float or None
        Labels may not exceed it (ERR's top grade).
    allow_linear : bool
        Whether the caller accepts ``gain='linear'`` (said in the messages).
    """
    if label_gain is None and gain is not None and not isinstance(gain, str):
        label_gain = gain
    if label_gain is not None:
        n = int(np.asarray(label_gain).shape[0])
        return LabelRule(True, True, n, "table", table_size=n, allow_linear=allow_linear)
    if gain is None:
        return LabelRule()
    if gain == "exp":
        return LabelRule(True, True, EXP_GAIN_MAX_LABEL, "exp", allow_linear=allow_linear)
    if gain == "linear":
        if max_grade is not None:
            return LabelRule(True, False, np.nextafter(max_grade, np.inf), "max_grade", max_grade=max_grade)
        return LabelRule(True, False)
    raise ValueError(f"gain must be None, 'exp', 'linear' or a table, got {gain!r}")


def check_label_values(y, rule, *, name="y", context=""):
    """Raise `LabelError` for the first label of float64 1-d `y` breaking `rule`.

    Returns the largest label. `context` (e.g. ``"ndcg@10"`` or ``"objective
    'lambdamart'"``) is added to the messages.
    """
    code, row, max_label = first_bad_label(y, rule.non_negative, rule.need_integer, rule.limit)
    if code == LABEL_OK:
        return max_label
    v = float(y[row])
    ctx = f" ({context})" if context else ""
    if code == LABEL_NONFINITE:
        raise LabelError(f"{name} contains NaN or infinite values (row {row}): every row needs a finite label{ctx}")
    if code == LABEL_NEGATIVE:
        raise LabelError(f"{name} must be non-negative relevance labels, got {v:g} (row {row}){ctx}")
    if code == LABEL_FRACTION:
        fix = ("pass gain='linear' for real-valued relevance" if rule.allow_linear else
               "map graded relevance to integers and set the gain of each with label_gain")
        raise LabelError(
            f"{name} must hold integer labels with {rule.describe_gain()}{ctx}, got {v:g} (row {row}); {fix}")
    # LABEL_TOO_LARGE
    if rule.kind == "exp":
        alt = " or gain='linear'" if rule.allow_linear else ""
        raise LabelError(
            f"{name} has label {v:g} (row {row}) but gain='exp' allows labels up to {EXP_GAIN_MAX_LABEL - 1} "
            f"(2**y overflows the other gains){ctx}; pass label_gain with a gain for each label 0..{int(v)}{alt}")
    if rule.kind == "max_grade":
        raise LabelError(f"{name} has label {v:g} (row {row}) above max_grade={rule.max_grade:g}{ctx}")
    n = rule.table_size
    raise LabelError(
        f"{name} has label {v:g} (row {row}) but label_gain has only {n} entries (labels 0..{n - 1}){ctx}; "
        "pass a longer label_gain")


def check_labels(y, *, n_samples=None, gain=None, label_gain=None, name="y", what="X", context="",
                 allow_linear=False):
    """Labels as contiguous float64, checked against the rule of `gain` / `label_gain` (see `label_rule`).

    Raises `LabelError` naming `name` when `y` is missing, not 1-d numbers,
    of the wrong length (`n_samples` rows of `what`), or breaks the rule.
    """
    if y is None:
        raise LabelError(f"{name} is None: fit requires y to be passed, but the target y is None "
                         "(pass one relevance label per row)")
    y = as_numeric_1d(y, name, error=LabelError)
    check_n_entries(y.shape[0], n_samples, name, what=what, item="label", error=LabelError)
    check_label_values(y, label_rule(gain, label_gain, allow_linear=allow_linear), name=name, context=context)
    return y


def check_objective_labels(objective, y, *, name="y"):
    """Apply `objective`'s own label rule (``validate_labels``) with the error type of every label rule.

    The objectives add ranges of their own on top of `check_labels` (binary
    labels in [0, 1], non-negative clicks, ...); a plain ``ValueError`` from
    one becomes a `LabelError` naming `name`, so that ``except LabelError``
    catches every bad label whichever objective met it.
    """
    try:
        objective.validate_labels(y)
    except LabelError:
        raise
    except ValueError as exc:
        msg = str(exc)
        named = msg.startswith(name) and not msg[len(name):len(name) + 1].isalnum()  # "y has", not "yetiloss"
        raise LabelError(msg if named else f"{name}: {msg}") from None


def check_finite(a, name, *, error=LTRValueError):
    """Raise `error` when float64 1-d `a` holds NaN or infinity."""
    row = first_nonfinite(a)
    if row >= 0:
        raise error(f"{name} contains NaN or infinite values (row {row})")


# ---------------------------------------------------------------------------
# Query ids and group sizes
# ---------------------------------------------------------------------------
def _qid_array(qid, name):
    arr = np.asarray(qid)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise QueryError(f"{name} must be 1-dimensional, got an array of shape {arr.shape}")
    return arr


def check_qid(qid, n_samples, *, name="qid", what="X"):
    """Per-row query ids as a 1-d array of integers, floats or strings (any order).

    Raises `QueryError` for the wrong length, missing ids (None, NaN), ids
    mixing strings and numbers, or ids that are not numbers or strings.
    """
    arr = _qid_array(qid, name)
    check_n_entries(arr.shape[0], n_samples, name, what=what, item="query id", error=QueryError)
    if arr.shape[0] == 0:
        raise QueryError(f"{name} is empty")
    kind = arr.dtype.kind
    if kind == "O":
        arr = _object_qid(arr, name)
        kind = arr.dtype.kind
    if kind == "f":
        if first_nonfinite(np.ascontiguousarray(arr, dtype=np.float64)) >= 0:
            raise QueryError(f"{name} contains NaN or infinite values: every row needs a query id")
    elif kind not in "iubUS":
        raise QueryError(f"{name} must hold integers or strings, got dtype {arr.dtype}")
    return arr


def _object_qid(arr, name):
    """Object ids: all strings or all numbers (NumPy cannot sort a mix), none missing."""
    n_str = n_num = 0
    for v in arr:
        if isinstance(v, str):
            n_str += 1
        elif isinstance(v, (numbers.Real, np.bool_)) and not (isinstance(v, float) and math.isnan(v)):
            n_num += 1
        elif v is None or (isinstance(v, float) and math.isnan(v)):
            raise QueryError(f"{name} contains missing values (None or NaN): every row needs a query id")
        elif _is_na(v):
            raise QueryError(f"{name} contains missing values (NA): every row needs a query id")
        else:
            raise QueryError(f"{name} must hold integers or strings, got a {type(v).__name__}")
    if n_str and n_num:
        raise QueryError(f"{name} mixes strings and numbers: use one kind of query id")
    if n_str:
        return arr.astype(str)
    out = np.asarray(arr.tolist())
    if out.dtype.kind not in "biuf":
        raise QueryError(f"{name} must hold integers or strings, got dtype {arr.dtype}")
    return out


def _is_na(v):
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (ImportError, TypeError, ValueError):
        return False


def check_group(group, n_samples, *, name="group", what="X"):
    """LightGBM-style query sizes as int64; they must be positive and sum to `n_samples`."""
    arr = _qid_array(group, name)
    if arr.dtype.kind == "f":
        if first_nonfinite(np.ascontiguousarray(arr, dtype=np.float64)) >= 0 or np.any(arr != np.round(arr)):
            raise QueryError(f"{name} must hold whole numbers of rows per query")
    elif arr.dtype.kind not in "iu":
        raise QueryError(f"{name} must hold integer query sizes, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.shape[0] == 0:
        raise QueryError(f"{name} is empty: give the number of rows of each query")
    if np.any(arr <= 0):
        raise QueryError(f"{name} sizes must be positive (every query has at least one row)")
    total = int(arr.sum())
    if n_samples is not None and total != n_samples:
        raise QueryError(
            f"{name} sizes sum to {total} but {what} has {n_samples} rows; "
            f"{name} is the number of rows of each query (pass qid for one id per row)")
    return arr


def check_query_args(n_samples, qid=None, group=None, *, what="X", qid_name="qid", group_name="group"):
    """Validated ``(qid, group)``: at most one of them, each consistent with `n_samples`."""
    if qid is not None and group is not None:
        raise QueryError(f"pass either {qid_name} (one id per row) or {group_name} (query sizes), not both")
    if qid is not None:
        return check_qid(qid, n_samples, name=qid_name, what=what), None
    if group is not None:
        return None, check_group(group, n_samples, name=group_name, what=what)
    return None, None


# ---------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------
_NUMERIC_OBJECT_KINDS = ("integer", "floating", "mixed-integer-float", "boolean", "decimal", "empty")


def check_frame_columns(X, name="X"):
    """Raise `FeatureTypeError` when a DataFrame has non-numeric feature columns.

    Numeric, boolean and nullable numeric columns pass; so do object columns
    holding only numbers. Strings, categories and dates need encoding first:
    converting them silently would train on arbitrary codes.
    """
    if not (hasattr(X, "dtypes") and hasattr(X, "columns") and hasattr(X, "iloc")):
        return
    import pandas as pd

    bad = []
    for col, dtype in zip(X.columns, X.dtypes):
        if isinstance(dtype, pd.CategoricalDtype) or not (pd.api.types.is_numeric_dtype(dtype)
                                                           or pd.api.types.is_bool_dtype(dtype)):
            if dtype == object:
                inferred = pd.api.types.infer_dtype(X[col], skipna=True)
                if inferred in _NUMERIC_OBJECT_KINDS:
                    continue
                bad.append(f"{col!r} (dtype object holding {inferred} values)")
            else:
                bad.append(f"{col!r} (dtype {dtype})")
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise FeatureTypeError(
            f"{name} has non-numeric column(s) {shown}: features must be numbers; encode categories as "
            "integers or one-hot columns (e.g. scikit-learn's OrdinalEncoder) or drop those columns")


def check_no_inf(X, name="X"):
    """Raise `FeatureError` naming the first row and column holding +-inf (NaN is allowed)."""
    if sparse.issparse(X):
        data = X.data
        if data.size == 0 or not np.isinf(data).any():
            return
        k = int(np.flatnonzero(np.isinf(data))[0])
        X = X.tocsr()
        row = int(np.searchsorted(X.indptr, k, side="right") - 1)
        col = int(X.indices[k])
    else:
        if X.size < PARALLEL_SCAN_MIN_VALUES:
            row = int(_first_row_with_inf(X))
            if row < 0:
                return
        else:
            flags = np.zeros(X.shape[0], dtype=np.uint8)
            _flag_rows_with_inf(X, flags)
            rows = np.flatnonzero(flags)
            if rows.size == 0:
                return
            row = int(rows[0])
        col = int(np.flatnonzero(np.isinf(X[row]))[0])
    raise FeatureError(
        f"{name} contains infinity (row {row}, column {col}): features must be finite; "
        "use NaN for a missing value")


def check_X(estimator, X, *, reset, name="X", purpose=None):
    """Feature matrix as float32/float64 ndarray or CSR, with the estimator's feature bookkeeping.

    With ``reset=True`` (fit) records ``n_features_in_`` and
    ``feature_names_in_`` (scikit-learn's conventions); with ``reset=False``
    (predict, eval sets) checks that the width and the DataFrame column
    names match those seen at fit. NaN is allowed (missing); +-inf, zero
    rows, zero columns and non-numeric DataFrame columns raise.
    """
    from sklearn.utils.validation import _check_feature_names, check_array

    purpose = purpose or ("fit" if reset else "predict")
    if X is None:
        raise FeatureError(f"{name} is None: pass a 2-d array of features (n_samples, n_features)")
    check_frame_columns(X, name)
    try:
        _check_feature_names(estimator, X, reset=reset)
    except TypeError as exc:  # column names mixing strings and other types
        raise FeatureTypeError(f"{name}: {exc}") from None
    except ValueError as exc:
        raise FeatureError(f"{name}: {exc}") from None
    try:
        X = check_array(X, accept_sparse="csr", dtype=[np.float64, np.float32], ensure_all_finite=False,
                        ensure_min_samples=0, ensure_min_features=0, input_name=name, estimator=estimator)
    except TypeError:
        raise  # objects that are not numbers at all: NumPy's TypeError says which
    except ValueError as exc:
        raise FeatureError(f"{name}: {exc}") from None
    check_shape(X.shape, name, purpose=purpose)
    if reset:
        estimator.n_features_in_ = X.shape[1]
    else:
        check_n_features(X.shape[1], getattr(estimator, "n_features_in_", None), name,
                         owner=type(estimator).__name__)
    check_no_inf(X, name)
    return X


def check_tree_shape(grow_policy, max_depth, score_function="newton", random_strength=0.0):
    """Tree-shape parameters that only mean something together.

    ``grow_policy='symmetric'`` needs a number of levels (1 <= max_depth <=
    16, CatBoost's range); ``score_function='cosine'`` and ``random_strength
    > 0`` exist for symmetric trees only.
    """
    from ._symmetric import MAX_SYMMETRIC_DEPTH

    if grow_policy == "symmetric" and not 1 <= max_depth <= MAX_SYMMETRIC_DEPTH:
        raise LTRValueError(f"grow_policy='symmetric' grows max_depth levels: pass 1 <= max_depth <= "
                            f"{MAX_SYMMETRIC_DEPTH} (CatBoost's default is 6), got max_depth={max_depth}")
    if grow_policy != "symmetric" and (score_function != "newton" or random_strength != 0):
        what = f"score_function={score_function!r}" if score_function != "newton" else \
            f"random_strength={random_strength!r}"
        raise LTRValueError(f"{what} is for symmetric trees: pass grow_policy='symmetric' (and max_depth), "
                            f"or leave it at its default")


def check_shape(shape, name="X", *, purpose="fit"):
    """Raise `FeatureError` unless `shape` is 2-d with at least one row and one feature."""
    shape = tuple(shape)
    if len(shape) != 2:
        raise FeatureError(f"{name} must be 2-dimensional (n_samples, n_features), got shape {shape}")
    if shape[0] == 0:
        raise FeatureError(f"{name} has 0 rows (shape={shape}): {purpose} needs at least one row")
    if shape[1] == 0:
        raise FeatureError(f"{name} has 0 feature(s) (shape={shape}) while a minimum of 1 is required: "
                           "every row needs at least one feature")


def check_n_features(n_features, expected, name="X", *, owner="LambdaRanker"):
    """Raise `FeatureError` when X's width differs from the `expected` one seen at fit (None: no check)."""
    if expected is not None and n_features != expected:
        raise FeatureError(
            f"{name} has {n_features} features, but {owner} is expecting {expected} "
            "features as input (the columns it was fitted on, in the same order)")


# ---------------------------------------------------------------------------
# Row weights and positions
# ---------------------------------------------------------------------------
def check_sample_weight(sample_weight, n_samples, *, name="sample_weight", what="X"):
    """Row weights as float64 (None stays None; a number is every row's weight).

    They must be finite, non-negative and not all zero.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number) and not isinstance(sample_weight, (bool, np.bool_)):
        sample_weight = np.full(n_samples, float(sample_weight))
    w = as_numeric_1d(sample_weight, name)
    check_n_entries(w.shape[0], n_samples, name, what=what, item="weight")
    check_finite(w, name)
    if np.any(w < 0):
        raise LTRValueError(f"{name} must be non-negative, got {w.min():g}")
    if not np.any(w > 0):
        raise LTRValueError(f"{name} is zero for every row: at least one row needs a positive weight")
    return w


def check_position(position, n_samples, *, name="position"):
    """1-based display positions as int64 (None stays None): whole numbers >= 1, one per row."""
    if position is None:
        return None
    arr = np.asarray(position)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        raise LTRValueError(f"{name} must have one entry per row ({n_samples}), got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if first_nonfinite(np.ascontiguousarray(arr, dtype=np.float64)) >= 0 or np.any(arr != np.floor(arr)):
            raise LTRValueError(f"{name} must hold whole numbers (1-based display ranks)")
    elif arr.dtype.kind not in "iub":
        raise LTRValueError(f"{name} must hold integers (1-based display ranks), got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if n_samples and arr.min() < 1:
        row = int(np.argmax(arr < 1))
        raise LTRValueError(f"{name} must be 1-based (the top result is 1), got {arr[row]} (row {row})")
    return arr


def check_cross_fit_request(unbiased, propensity_estimation, cross_fit_params, position):
    """True when `LambdaRanker.fit` should cross-fit the DLA propensities; errors for misplaced options."""
    if propensity_estimation != "cross_fit":
        if cross_fit_params is not None:
            raise LTRValueError("cross_fit_params is for propensity_estimation='cross_fit'; "
                                f"propensity_estimation={propensity_estimation!r} does not use it")
        return False
    if unbiased != "dla":
        raise LTRValueError(f"propensity_estimation='cross_fit' estimates DLA's propensities: use unbiased='dla', "
                            f"got unbiased={unbiased!r}")
    if position is None:
        raise LTRValueError("position is required with unbiased='dla': pass the 1-based display rank of each row")
    return True


# ---------------------------------------------------------------------------
# Evaluation sets
# ---------------------------------------------------------------------------
def check_eval_sets(eval_set, eval_qid=None, eval_group=None, *, train_has_queries=True):
    """Structure of ``eval_set`` / ``eval_qid`` / ``eval_group``: a list of ``(i, X, y, qid, group)``.

    One ``(X, y)`` pair may be given without a list. When the training data
    had query ids (`train_has_queries`), every evaluation set with more than
    one row needs its own ids: evaluating it as one query would quietly
    report a meaningless NDCG. The rows of each set are checked later
    (`check_X`, `check_labels`, `check_query_args`).
    """
    if eval_set is None:
        if eval_qid is not None or eval_group is not None:
            raise LTRValueError("eval_qid / eval_group given without eval_set")
        return []
    if isinstance(eval_set, tuple) and len(eval_set) == 2 and not isinstance(eval_set[0], tuple):
        eval_set = [eval_set]
    if not isinstance(eval_set, (list, tuple)):
        raise TypeError(f"eval_set must be a list of (X, y) pairs, got {type(eval_set).__name__}")
    n_sets = len(eval_set)
    for arg, v in (("eval_qid", eval_qid), ("eval_group", eval_group)):
        if v is not None and (not isinstance(v, (list, tuple)) or len(v) != n_sets):
            got = len(v) if isinstance(v, (list, tuple)) else type(v).__name__
            raise LTRValueError(f"{arg} must be a list with one entry per eval_set ({n_sets}), got {got}")
    out = []
    for i, pair in enumerate(eval_set):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise LTRValueError(f"eval_set[{i}] must be an (X, y) pair")
        Xe, ye = pair
        q = None if eval_qid is None else eval_qid[i]
        g = None if eval_group is None else eval_group[i]
        if q is None and g is None and train_has_queries and _n_rows(Xe) > 1:
            raise QueryError(
                f"eval_set[{i}] has no query ids: pass eval_qid (a list with the query id of every row of "
                "each eval set) or eval_group; without them its NDCG would treat all its rows as one query")
        out.append((i, Xe, ye, q, g))
    return out


def _n_rows(X):
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 1:
        return int(shape[0])
    try:
        return len(X)
    except TypeError:
        return 0


# ---------------------------------------------------------------------------
# Degenerate queries
# ---------------------------------------------------------------------------
def report_degenerate_queries(n_degenerate, n_queries, verbose=0):
    """Log (and print when `verbose`) how many queries carry no ranking signal.

    One-document queries and queries whose labels are all equal are allowed:
    they get zero gradients. Many of them usually mean a join went wrong
    upstream, so the count is always logged on the ``'ltr'`` logger.
    """
    if not n_degenerate:
        return
    msg = (f"{n_degenerate} of {n_queries} queries have one document or equal labels: "
           "they carry no ranking signal")
    logger.info(msg)
    if verbose:
        print(f"[ltr] {msg}")


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------
def check_output_path(path, overwrite=False, *, what="output file", flag=None):
    """The path to write, as a string; an existing file is refused unless `overwrite`.

    The command line maps ``--force`` to `overwrite` and passes
    ``flag='--force'`` so that the message names the option to use. Raises
    `FileExistsError`, `IsADirectoryError` or `FileNotFoundError` (missing
    folder) naming the path.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{what} {path} is a directory")
    if os.path.exists(path) and not overwrite:
        fix = f"pass {flag} to overwrite it" if flag else \
            "pass overwrite=True (--force on the command line) to replace it"
        raise FileExistsError(f"{what} {path} exists; {fix}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {what} {path}: folder {folder} does not exist")
    return path


def read_model_json(path):
    """The parsed JSON object of a model file, never evaluating code.

    Missing files raise `FileNotFoundError`; directories, empty files,
    binary data (a pickle, say), truncated or invalid JSON, absurd nesting
    and top-level values that are not an object raise `ModelFormatError`.
    (NaN / Infinity literals parse; the model checks in ``ltr.booster``
    reject them where they matter, naming the field.)
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"model file {path} does not exist")
    if os.path.isdir(path):
        raise ModelFormatError(f"{path} is a directory, not an ltr model file")
    if os.path.getsize(path) == 0:
        raise ModelFormatError(f"{path} is empty, not an ltr model file")
    try:
        with open(path, encoding="utf-8") as fh:
            d = json.load(fh)
    except UnicodeDecodeError:
        raise ModelFormatError(f"{path} is not an ltr model file (not UTF-8 text: binary data such as a pickle)") \
            from None
    except json.JSONDecodeError as exc:
        raise ModelFormatError(f"{path} is not a valid ltr model file (truncated or corrupted JSON: {exc})") from None
    except RecursionError:
        raise ModelFormatError(f"{path} is not a valid ltr model file (JSON nested too deeply)") from None
    if not isinstance(d, dict):
        raise ModelFormatError(f"{path} is not an ltr model file (the JSON is a {type(d).__name__}, not an object)")
    return d


def check_model_header(d, format_name, format_version, library_version):
    """Raise `ModelFormatError` unless `d` declares the ltr format at a version this library reads."""
    if not isinstance(d, dict) or d.get("format") != format_name:
        raise ModelFormatError("not an ltr model file (the 'format' field is missing or different)")
    version = d.get("format_version")
    if type(version) is not int or version < 1:
        raise ModelFormatError("model file has no valid format_version")
    if version > format_version:
        raise ModelFormatError(
            f"model file format version {version} is newer than this ltr ({library_version}) reads "
            f"(up to {format_version}); upgrade ltr to load it")


__all__ = [
    "LTRValueError", "LabelError", "QueryError", "FeatureError", "FeatureTypeError", "ModelFormatError",
    "EXP_GAIN_MAX_LABEL", "LabelRule", "label_rule", "check_label_values", "check_labels",
    "check_objective_labels", "check_finite", "as_numeric_1d", "check_n_entries", "check_shape", "check_n_features", "check_qid", "check_group",
    "check_query_args", "check_frame_columns", "check_no_inf",
    "check_X", "check_sample_weight", "check_position", "check_eval_sets", "report_degenerate_queries",
    "check_output_path", "read_model_json", "check_model_header", "logger",
]
