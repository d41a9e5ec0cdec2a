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
        self._fitted_setup = True
        return self

    def _setup(self):
        """Subclass hook: precompute caches from ``self.y_`` and ``self.group_ptr_``."""

    def init_score(self):
        """The constant raw score every model starts from."""
        return 0.0

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
        """Hook called after each tree is added (e.g. DLA's propensity update)."""

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


def new_grad_hess(n_samples):
    """Zeroed gradient and hessian buffers."""
    return np.zeros(n_samples, dtype=G_H_DTYPE), np.zeros(n_samples, dtype=G_H_DTYPE)
