"""The objective interface shared by every loss the booster can train.

An objective turns current raw scores into per-row gradients ``g = dL/ds``
and hessians ``h ~ d2L/ds2 >= 0`` (Newton leaves are ``-sum g / (sum h + l2)``).
Ranking objectives work query by query: a subclass supplies a Numba kernel
for one query and a driver that runs it over ``prange(n_queries)``; this base
class owns what is common: label checks, row weights, degenerate queries and
the seed of stochastic objectives.
"""
import numpy as np
from numba import njit, prange

from .._dtypes import G_H_DTYPE, NJIT_PARALLEL, PTR_DTYPE
from .._validation import check_labels


@njit(**NJIT_PARALLEL)
def _multiply_weights(grad, hess, weight):
    for i in prange(grad.shape[0]):
        grad[i] *= weight[i]
        hess[i] *= weight[i]


@njit(**NJIT_PARALLEL)
def _count_degenerate_queries(y, group_ptr):
    """Number of queries with a single row or with all labels equal."""
    n_queries = group_ptr.shape[0] - 1
    flags = np.zeros(n_queries, dtype=np.int64)
    for q in prange(n_queries):
        a, b = group_ptr[q], group_ptr[q + 1]
        same = True
        for i in range(a + 1, b):
            if y[i] != y[a]:
                same = False
                break
        flags[q] = 1 if same else 0
    return flags.sum()


class Objective:
    """Base class of all objectives.

    Subclasses set the class attributes below and implement
    ``_gradient_hessian(raw_score, grad, hess, iteration)``.

    Attributes
    ----------
    name : str
        Registry name (``objective='name'`` in the estimator).
    is_ranking : bool
        True when the loss is defined per query (needs ``group_ptr``).
    is_stochastic : bool
        True when gradients depend on random draws; those must be derived
        from ``(seed, iteration, query)`` via ``ltr._random.mix_seed``.
    produces_probabilities : bool
        True when ``sigmoid(raw score)`` is a calibrated probability of
        relevance (enables ``predict_proba``).
    estimator_params : tuple of str
        Names of ``LambdaRanker`` parameters that the estimator passes to the
        constructor (e.g. ``sigmoid`` for LambdaMART).
    supports_query_offset : bool
        True when a stochastic objective seeds query ``q`` with
        ``mix_seed(seed, iteration, q + query_offset_)``. Distributed training
        sets ``query_offset_`` to a partition's first global query index, so
        every partition draws the numbers one process would.
    query_offset_ : int
        Global index of the first query this instance sees (0 on one machine).
    """

    name = None
    is_ranking = True
    is_stochastic = False
    produces_probabilities = False
    estimator_params = ()
    supports_query_offset = False
    query_offset_ = 0

    def __init__(self):
        self._fitted_setup = False

    # -- parameters ---------------------------------------------------------
    def get_params(self):
        """Constructor parameters as a JSON-serialisable dict (model files)."""
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- data ---------------------------------------------------------------
    def validate_labels(self, y):
        """Raise ValueError (`ltr._validation.LabelError`) naming the problem if `y` is not usable.

        The base rule is finite labels; subclasses add theirs (through
        `ltr._validation.check_labels` where a gain rule applies).
        """
        check_labels(y, name="y")

    def setup(self, y, group_ptr, sample_weight=None, seed=0, position=None):
        """Keep the training labels and precompute per-query caches.

        Parameters
        ----------
        y : ndarray of float64, shape (n_samples,)
            Labels in grouped row order.
        group_ptr : ndarray of int64, shape (n_queries + 1,)
            Query offsets.
        sample_weight : ndarray of float64 or None
            Per-row weights; gradients and hessians are multiplied by them.
        seed : int
            Base seed of stochastic objectives (already resolved from
            ``random_state``).
        position : ndarray of int or None
            1-based display positions (unbiased learning from clicks).
        """
        self.y_ = np.ascontiguousarray(y, dtype=np.float64)
        self.group_ptr_ = np.ascontiguousarray(group_ptr, dtype=PTR_DTYPE)
        self.weight_ = None if sample_weight is None else np.ascontiguousarray(sample_weight, dtype=np.float64)
        self.seed_ = int(seed)
        self.position_ = position
        self.n_degenerate_queries_ = int(_count_degenerate_queries(self.y_, self.group_ptr_)) if self.is_ranking else 0
        self._setup()
        # Quantities taken from all the data go through the same statistics distributed training reduces
        # (one process: its own statistics are the global ones), so both paths compute them identically.
        stats = self.partition_statistics()
        if stats:
            self.set_global_statistics(reduce_statistics([stats]))
        self._fitted_setup = True
        return self

    def _setup(self):
        """Subclass hook: precompute caches from ``self.y_`` and ``self.group_ptr_``."""

    def init_score(self):
        """The constant raw score every model starts from."""
        return 0.0

    # -- global quantities (distributed training protocol, see ltr.dask) ---
    def partition_statistics(self):
        """What `_setup` / `init_score` need from all the data, as reducible statistics of these rows.

        Returns None (nothing global) or ``{name: (op, value)}`` with ``op``
        one of ``'sum'``, ``'max'``, ``'min'`` and ``value`` a number or a 1-d
        array (see `reduce_statistics`). `setup` passes the reduced
        statistics of its own rows to `set_global_statistics`; distributed
        training passes those of every partition.
        """
        return None

    def set_global_statistics(self, stats):
        """Take the reduced statistics of all the training rows (``{name: ndarray}``)."""

    # -- training -----------------------------------------------------------
    def gradient_hessian(self, raw_score, grad, hess, iteration=0):
        """Write gradients and hessians of the loss at `raw_score` into `grad`, `hess` (OUT).

        All arrays are float64 of shape (n_samples,), in grouped row order.
        Queries with one row or with equal labels get exactly zero.
        """
        self._gradient_hessian(raw_score, grad, hess, iteration)
        if self.weight_ is not None:
            _multiply_weights(grad, hess, self.weight_)

    def _gradient_hessian(self, raw_score, grad, hess, iteration):
        raise NotImplementedError

    def after_iteration(self, raw_score, iteration):
        """Hook called after each tree is added (e.g. DLA's propensity update).

        An objective that overrides it also provides, for distributed training,
        ``after_iteration_distributed(iteration, reduce) -> update`` (computes
        the update from ``reduce(name, *args)``, the sum over all partitions of
        ``self.<name>(raw_score, *args)``, and applies it to itself) and
        ``apply_update(update, iteration)`` (brings another instance to that
        state). Its ``after_iteration`` should be the former with a local
        ``reduce``, so that both paths are one computation.
        """

    def loss(self, raw_score):
        """The loss value at `raw_score` where one is defined (tests, logging)."""
        raise NotImplementedError(f"{self.name} has no closed-form loss")

    # -- state kept in model files -----------------------------------------
    def state(self):
        """Learned objective state to save with the model (JSON-serialisable)."""
        return {}

    def set_state(self, state):
        """Restore what `state` returned (continued training, loading)."""

    def transform(self, raw_score):
        """Map raw scores to calibrated probabilities (``predict_proba``)."""
        raise ValueError(
            f"objective {self.name!r} does not produce calibrated probabilities; "
            "use objective='binary' or 'rcr' for predict_proba"
        )


_STAT_OPS = {"sum": np.add, "max": np.maximum, "min": np.minimum}


def reduce_statistics(per_partition):
    """Combine the ``{name: (op, value)}`` dicts of `Objective.partition_statistics` into ``{name: ndarray}``.

    ``op`` is ``'sum'``, ``'max'`` or ``'min'``, applied elementwise in the
    order given (None entries are skipped). Vectors indexed by a position
    may be shorter on a partition that does not show the last positions:
    under ``'sum'`` the shorter one is padded with zeros.
    """
    out = {}
    for stats in per_partition:
        if not stats:
            continue
        for name, (op, value) in stats.items():
            if op not in _STAT_OPS:
                raise ValueError(f"partition statistic {name!r} has unknown reduction {op!r}")
            value = np.asarray(value, dtype=np.float64)
            if name not in out:
                out[name] = value
                continue
            prev = out[name]
            if op == "sum" and value.ndim == 1 and prev.ndim == 1 and value.shape != prev.shape:
                n = max(value.shape[0], prev.shape[0])
                prev = np.pad(prev, (0, n - prev.shape[0]))
                value = np.pad(value, (0, n - value.shape[0]))
            out[name] = _STAT_OPS[op](prev, value)
    return out


def new_grad_hess(n_samples):
    """Zeroed gradient and hessian buffers."""
    return np.zeros(n_samples, dtype=G_H_DTYPE), np.zeros(n_samples, dtype=G_H_DTYPE)
