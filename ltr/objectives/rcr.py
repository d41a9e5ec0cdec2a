"""Regression-compatible ranking (RCR): calibrated scores that also rank well.

Bai, Jagerman, Qin, Yan, Kar, Lin, Wang, Bendersky, Najork, "Regression
Compatible Listwise Objectives for Calibrated Ranking with Binary Relevance",
CIKM 2023 (arXiv 2211.01494), Definitions 1-2 and Propositions 2-3. Per query
``q`` with labels ``y_i`` in [0, 1] and row weights ``w_i``:

    L_q = (1 - alpha) sum_i w_i SigmoidCE(s_i, y_i) + alpha ListCE_q(sigmoid)

    SigmoidCE(s, y) = -y log sig(s) - (1 - y) log(1 - sig(s))
    ListCE_q(sigmoid) = - sum_i w_i t_i log p_i,   p_i = sig(s_i) / sum_j w_j sig(s_j)
    t_i = y_i / sum_j w_j y_j            (the paper's eq. 12: labels over their sum)

Why the two parts agree: ``SigmoidCE`` is minimised at ``sig(s_i) = E[y_i]``;
``ListCE(sigmoid)`` at ``sig(s_i) / sum sig(s_j) = E[y_i] / sum E[y_j]``, which
``sig(s_i) = E[y_i]`` satisfies. The softmax CE of the naive mix instead wants
``exp(s_i) / sum exp(s_j) = E[y_i] / sum E[y_j]``, which ``s_i = logit(E[y_i])``
does not satisfy, hence its bias.

Gradient and hessian (our derivation, checked against finite differences of
`loss` in ``tests/test_objective_rcr.py``). Write ``u_i = log sig(s_i)``, so
``u_i' = 1 - sig_i`` and ``u_i'' = -sig_i (1 - sig_i)``, and
``T_q = sum_i w_i t_i`` (1 with the paper's targets). Then
``ListCE_q = -sum_i w_i t_i u_i + T_q log sum_j w_j exp(u_j)`` and

    dListCE/ds_k = w_k (1 - sig_k) (T_q p_k - t_k)
    d2ListCE/ds_k2 = w_k [ T_q (1 - sig_k)^2 p_k (1 - w_k p_k)          (Gauss-Newton, >= 0)
                           - sig_k (1 - sig_k) (T_q p_k - t_k) ]        (curvature of log sig)

The second term is negative for documents whose list share is above their
target, so the exact diagonal can be negative. RCR trains with the
Gauss-Newton term only: ``ListCE`` is convex in ``u`` and ``u(s)`` is concave,
the dropped term is the one that comes from that concavity, and what remains
is ``J^T (d2 ListCE / du2) J`` restricted to the diagonal, always >= 0.
The pointwise part contributes ``w (sig - y)`` and ``w sig (1 - sig)`` (exact).

On the paper's targets: the definition above (``t = y / sum y``) is the
paper's. Its Proposition 2 replaces ``y`` by ``E[y]`` inside the normaliser,
which is exact when the labels are themselves expected values (click rates,
aggregated judgments) but only approximate for sampled 0/1 labels, since
``E[y_i / sum_j y_j] != E[y_i] / sum_j E[y_j]``. ``list_target='raw'``
(``t_i = y_i``, ``T_q = sum w y``) keeps the loss linear in ``y``, so its
expected minimiser would be exactly ``sig(s_i) = E[y_i]`` even for sampled
labels; it weighs queries by their number of relevant documents instead of
equally.

Degenerate queries: the list term is dropped on a query with one row or
whose labels are all equal (see ``listwise.py``); the sigmoid CE part still
trains its rows. With fixed labels (rates, aggregated judgments) this does
not move the shared minimiser: at ``sig(s_i) = y_i`` an all-equal query's
list term is already at its minimum. For sampled 0/1 labels with
``list_target='raw'``, dropping the all-relevant draw leaves an expected
list gradient of exactly ``-P(all relevant) * g_all_relevant`` at the
calibrated point (tested by enumeration), negligible unless lists are short
and mostly relevant, and smaller than the normalised targets' own bias.

Graded labels: binary labels and rates in [0, 1] are used as they are;
grades above 1 are divided by ``label_scale`` (default: the largest training
label), so ``predict_proba`` estimates ``E[y] / label_scale``.
"""
import numpy as np

from . import register
from .listwise import (
    TRANSFORM_SIGMOID,
    ListCEMixture,
    check_alpha,
    check_label_scale,
    check_list_target,
)


@register
class RegressionCompatibleRanking(ListCEMixture):
    """Regression-compatible ranking, ``(1 - rcr_alpha) SigmoidCE + rcr_alpha ListCE(sigmoid)``.

    Scores rank like a listwise model and ``sigmoid(raw)`` is a calibrated
    probability of relevance (``predict_proba``). See the module docstring
    for the loss, its gradient and the Gauss-Newton hessian used in training.

    Labels: binary relevance or rates in [0, 1] are used as they are. Graded
    labels (non-negative, some above 1) are divided by `label_scale`, by
    default the largest training label, so that grades 0..4 become
    0, .25, .5, .75, 1 and ``predict_proba`` estimates ``E[y] / label_scale``.
    The divisor is kept as ``label_scale_`` and saved with the model. Give
    `label_scale` explicitly (e.g. 4) so that it does not depend on which
    grades the training set happens to contain.

    The model starts from ``logit(mean(y))`` (weighted, after the mapping).
    Queries with one row or whose labels are all equal (no relevant
    document, or all equally relevant) carry no ranking signal and get only
    the pointwise term, which keeps calibrating their rows. Row weights multiply the pointwise term and act as
    multiplicities in the list term (weight 2 == the row given twice).

    Parameters
    ----------
    rcr_alpha : float in [0, 1], default=0.5
        Weight of the listwise term. 0 is the pointwise ``'binary'`` loss; 1
        is ``ListCE(sigmoid)`` alone, whose minimisers include the calibrated
        one but do not single it out. The pointwise part sums over documents
        and the listwise part counts once per query, so the listwise part
        needs a large weight to matter (see ``benchmarks/bench_calibration.py``).
    list_target : {'normalized', 'raw'}, default='normalized'
        ``t = y / sum(w y)`` per query (the paper) or ``t = y`` (exactly
        compatible in expectation for sampled binary labels; see the module
        docstring).
    label_scale : float or None, default=None
        Divisor mapping graded labels into [0, 1].
    """

    name = "rcr"
    aliases = ("regression_compatible_ranking",)
    produces_probabilities = True
    estimator_params = ("rcr_alpha",)
    _transform = TRANSFORM_SIGMOID
    _exact_hessian = False  # Gauss-Newton (see the module docstring)
    _maps_labels = True

    def __init__(self, rcr_alpha=0.5, list_target="normalized", label_scale=None):
        super().__init__()
        self.rcr_alpha = rcr_alpha
        self.alpha_ = check_alpha(self.name, rcr_alpha, param="rcr_alpha")
        self.list_target = check_list_target(list_target)
        self.label_scale = check_label_scale(label_scale)

    def get_params(self):
        return {"rcr_alpha": self.alpha_, "list_target": self.list_target, "label_scale": self.label_scale}

    def transform(self, raw_score):
        """``sigmoid(raw)``: calibrated probability of relevance, shape of `raw_score`."""
        from scipy.special import expit

        return expit(np.asarray(raw_score, dtype=np.float64))
