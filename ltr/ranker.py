"""`LambdaRanker`: the scikit-learn estimator.

The estimator is thin: it validates and converts inputs, groups rows by
query, bins the features, and hands everything to `_boosting.train`. It does
no numeric work of its own.
"""
import numbers
import os

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _boosting
from ._canonical import canonical_layout, hash_sample
from ._query import make_layout
from ._random import resolve_seed
from ._threads import numba_threads
from ._validation import (
    check_cross_fit_request,
    check_eval_sets,
    check_labels,
    check_n_features,
    check_objective_labels,
    check_position,
    check_query_args,
    check_sample_weight,
    check_tree_shape,
    check_X,
    report_degenerate_queries,
)
from .binning import BinMapper
from .booster import Booster
from .callbacks import Callback, EarlyStopping, LogEvaluation
from .grower import TreeParams
from .objectives import Objective, available_objectives, get_objective

Real, Integral = numbers.Real, numbers.Integral


def _build(name, kwargs):
    from .objectives import _REGISTRY

    return _REGISTRY[name](**kwargs)


def _objective_names():
    return set(available_objectives())


class LambdaRanker(BaseEstimator):
    """Gradient-boosted trees for learning to rank (LambdaMART by default).

    Rows belong to queries given by ``qid`` (one id per row, any order) or by
    LightGBM-style ``group`` sizes. The model scores documents; within a query
    a higher score ranks higher. Parameter names follow LightGBM's
    ``LGBMRanker`` where one exists.

    Parameters
    ----------
    objective : str or Objective, default='lambdamart'
        A registered objective name (``ltr.objectives.available_objectives()``)
        or an ``Objective`` instance.
    n_estimators : int, default=100
        Number of boosting iterations (trees).
    learning_rate : float, default=0.1
        Shrinkage applied to every leaf value.
    num_leaves : int, default=31
        Maximum leaves per tree (leaf-wise growth; not used by symmetric trees).
    max_depth : int, default=-1
        Maximum depth of a leaf; -1 means no limit. For
        ``grow_policy='symmetric'`` the number of levels, 1 to 16 (required).
    grow_policy : {'leafwise', 'symmetric'}, default='leafwise'
        'leafwise': best-first growth up to ``num_leaves`` leaves (LightGBM's).
        'symmetric': oblivious trees as CatBoost's: level by level, every
        leaf of a level split by the same (feature, threshold), the one with
        the largest gain summed over the level's leaves; up to
        ``2 ** max_depth`` leaves. A leaf for which that split is not
        admissible (``min_child_samples``, ``min_child_weight``,
        ``min_split_gain``) is carried to the next level unsplit. With
        ``min_child_samples=1`` the training rows are partitioned exactly as
        by a CatBoost tree of depth ``max_depth``. See ``ltr._symmetric``.
    score_function : {'newton', 'cosine'}, default='newton'
        How symmetric trees compare the candidate splits of a level:
        'newton', the summed Newton gain (the leaf-wise trees' gain);
        'cosine', CatBoost's default score (cosine between the gradients and
        the tree's gradient-step values, leaf weights = row counts, L2
        ``reg_lambda``). Leaf values are Newton steps either way. Symmetric
        trees only.
    random_strength : float, default=0.0
        Symmetric trees only: CatBoost's split-score noise. Every candidate
        score gets ``N(0, s^2)`` added, ``s = random_strength * rms(gradient)
        * m``, ``m = L / (1 + L)``, ``L = n_samples * exp(-iteration *
        learning_rate)``; drawn from (``random_state``, iteration), so models
        stay reproducible. CatBoost's default is 1.
    min_child_samples : int, default=20
        Minimum rows in a leaf.
    min_child_weight : float, default=1e-3
        Minimum sum of hessians in a leaf.
    min_split_gain : float, default=0.0
        Minimum gain of a split.
    reg_alpha, reg_lambda : float, default=0.0
        L1 and L2 regularisation of leaf values. The Newton leaf value is
        ``-T(G) / (H + reg_lambda)`` with ``T(G) = sign(G) max(|G| - reg_alpha, 0)``.
    subsample : float, default=1.0
        Fraction of *queries* used for each tree (bagging by query).
    subsample_freq : int, default=0
        Draw a new query subsample every ``subsample_freq`` iterations (0: off).
    colsample_bytree : float, default=1.0
        Fraction of features drawn for each tree.
    max_bin : int, default=255
        Maximum bins per feature; NaN gets a bin of its own.
    random_state : int, RandomState, Generator or None, default=None
        Seed of every random choice (binning sample, subsampling, stochastic
        objectives). Fix it for reproducible models: the same data and seed
        give the same model for any ``n_jobs``.
    n_jobs : int or None, default=None
        Threads for the kernels (None or -1: all cores).
    sigmoid : float, default=1.0
        LambdaMART's sigma.
    lambdarank_truncation_level : int, default=30
        LambdaMART pairs need one member in the current top-k.
    lambdarank_norm : bool, default=True
        LambdaMART's lambda normalisation (as LightGBM).
    label_gain : array-like or None, default=None
        Gain of each integer label (default ``2**label - 1``); used by
        LambdaMART and by the NDCG evaluation.
    objective_params : dict or None, default=None
        Extra parameters for the objective's constructor (e.g.
        ``{"permutations": 20}`` for YetiRank).
    eval_at : tuple of int, default=(10,)
        Evaluation cutoffs: ``ndcg@k`` is computed on every eval set for each k.
    early_stopping_rounds : int or None, default=None
        Stop when ``ndcg@{eval_at[0]}`` on the last eval set has not improved
        for that many iterations; ``predict`` then uses the best iteration.
    importance_type : {'split', 'gain'}, default='split'
        What ``feature_importances_`` counts.
    verbose : int, default=0
        Print the evaluation every ``verbose`` iterations (0: silent).
    unbiased : {'naive', 'ipw', 'dla', 'unbiased_lambdamart'} or None, default=None
        Train from clicks (``y`` = clicks or click rates, ``position`` = the
        display rank of each row) with the click objective of that name,
        built around the ranking loss named by `objective` ('lambdamart',
        'softmax' or 'yetirank'); `objective_params` go to that objective.
    propensity : array-like or None, default=None
        The examination propensity per position, for ``unbiased='ipw'``.
    propensity_estimation : {'joint', 'cross_fit'}, default='joint'
        How ``unbiased='dla'`` estimates the propensities. 'joint': DLA's own
        alternation, the propensities re-estimated after every tree from the
        trees being fitted (objective ``'dla'``). 'cross_fit': first
        ``ltr.unbiased.estimate_propensity_cross_fit`` (by default: a
        relevance model fitted on other queries, from contrasts between
        documents shown at the same position only, so that neither the
        query's own clicks nor the current propensities shape it; then the
        position-based model with that relevance; ``method='dla'`` iterates
        DLA's IPW / IRW steps with out-of-fold rankers instead), then the model is an
        IPW ranker with those fixed propensities (objective ``'ipw'``,
        weights clipped at ``max_propensity_weight``, 10 by default, as DLA).
        Use 'cross_fit' when every session of a query showed the same list
        (a deterministic production ranker): there the joint estimate is
        biased towards no correction (see ``ltr.objectives.unbiased.DLA``).
    cross_fit_params : dict or None, default=None
        Arguments of ``estimate_propensity_cross_fit`` (``method``,
        ``n_folds``, ``ranker_params``; with ``method='dla'`` also
        ``n_rounds``, ``max_rounds``, ``tol``, ``relevance_model``, ...), for
        ``propensity_estimation='cross_fit'``. The out-of-fold rankers
        (relevance models) default to 100 trees, learning rate 0.1, this estimator's
        `num_leaves` and `n_jobs`, and are seeded from `random_state`.

    Attributes
    ----------
    booster_ : Booster
    objective_ : Objective
        The fitted objective (holds learned state such as propensities).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X was a DataFrame with string column names.
    n_iter_ : int
        Trees built by the last call to fit.
    best_iteration_ : int or None
        Number of trees that gave the best validation score (early stopping).
    best_score_ : dict
    evals_result_ : dict
        ``{set name: {metric: [value per iteration]}}``.
    feature_importances_ : ndarray of shape (n_features,)
    propensity_ : ndarray
        Click objectives: the propensity per position relative to position 1
        (estimated by DLA, or the given / cross-fitted one).
    propensity_history_ : ndarray, shape (n_updates, n_positions)
        DLA: the estimate after each tree ('joint') or after each cross-fit
        round ('cross_fit').
    propensity_cross_fit_ : PropensityEstimate
        ``propensity_estimation='cross_fit'`` only: the cross-fit result
        (``n_iter`` rounds, ``converged``, ``history``).

    Notes
    -----
    Metadata routing: with ``sklearn.set_config(enable_metadata_routing=True)``
    use ``LambdaRanker().set_fit_request(qid=True).set_score_request(qid=True)``
    so that ``Pipeline``, ``GridSearchCV`` and ``cross_validate`` slice ``qid``
    per fold (split with ``GroupKFold`` on the same ids).
    """

    _parameter_constraints = {
        "objective": [StrOptions(set()), Objective],  # names filled in at validation time
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0.0, None, closed="neither")],
        "num_leaves": [Interval(Integral, 2, 131072, closed="both")],
        "max_depth": [Interval(Integral, -1, None, closed="left")],
        "grow_policy": [StrOptions({"leafwise", "symmetric"})],
        "score_function": [StrOptions({"newton", "cosine"})],
        "random_strength": [Interval(Real, 0.0, None, closed="left")],
        "min_child_samples": [Interval(Integral, 1, None, closed="left")],
        "min_child_weight": [Interval(Real, 0.0, None, closed="left")],
        "min_split_gain": [Interval(Real, 0.0, None, closed="left")],
        "reg_alpha": [Interval(Real, 0.0, None, closed="left")],
        "reg_lambda": [Interval(Real, 0.0, None, closed="left")],
        "subsample": [Interval(Real, 0.0, 1.0, closed="right")],
        "subsample_freq": [Interval(Integral, 0, None, closed="left")],
        "colsample_bytree": [Interval(Real, 0.0, 1.0, closed="right")],
        "max_bin": [Interval(Integral, 2, 255, closed="both")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "sigmoid": [Interval(Real, 0.0, None, closed="neither")],
        "lambdarank_truncation_level": [Interval(Integral, 1, None, closed="left")],
        "lambdarank_norm": ["boolean"],
        "label_gain": ["array-like", None],
        "objective_params": [dict, None],
        "eval_at": ["array-like", Interval(Integral, 1, None, closed="left")],
        "early_stopping_rounds": [Interval(Integral, 1, None, closed="left"), None],
        "importance_type": [StrOptions({"split", "gain"})],
        "verbose": [Interval(Integral, 0, None, closed="left"), "boolean"],
        "unbiased": [StrOptions({"naive", "ipw", "dla", "unbiased_lambdamart"}), None],
        "propensity": ["array-like", None],
        "propensity_estimation": [StrOptions({"joint", "cross_fit"})],
        "cross_fit_params": [dict, None],
    }

    def __init__(self, objective="lambdamart", *, n_estimators=100, learning_rate=0.1, num_leaves=31, max_depth=-1,
                 grow_policy="leafwise", score_function="newton", random_strength=0.0, min_child_samples=20,
                 min_child_weight=1e-3, min_split_gain=0.0, reg_alpha=0.0, reg_lambda=0.0,
                 subsample=1.0, subsample_freq=0, colsample_bytree=1.0, max_bin=255, random_state=None, n_jobs=None,
                 sigmoid=1.0, lambdarank_truncation_level=30, lambdarank_norm=True, label_gain=None,
                 objective_params=None, eval_at=(10,), early_stopping_rounds=None, importance_type="split",
                 verbose=0, unbiased=None, propensity=None, propensity_estimation="joint", cross_fit_params=None):
        self.objective = objective
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.grow_policy = grow_policy
        self.score_function = score_function
        self.random_strength = random_strength
        self.min_child_samples = min_child_samples
        self.min_child_weight = min_child_weight
        self.min_split_gain = min_split_gain
        self.reg_alpha = reg_alpha
        self.reg_lambda = reg_lambda
        self.subsample = subsample
        self.subsample_freq = subsample_freq
        self.colsample_bytree = colsample_bytree
        self.max_bin = max_bin
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.sigmoid = sigmoid
        self.lambdarank_truncation_level = lambdarank_truncation_level
        self.lambdarank_norm = lambdarank_norm
        self.label_gain = label_gain
        self.objective_params = objective_params
        self.eval_at = eval_at
        self.early_stopping_rounds = early_stopping_rounds
        self.importance_type = importance_type
        self.verbose = verbose
        self.unbiased = unbiased
        self.propensity = propensity
        self.propensity_estimation = propensity_estimation
        self.cross_fit_params = cross_fit_params

    def _validate_params(self):
        # The objective names are only known once every module has registered.
        self._parameter_constraints = dict(type(self)._parameter_constraints)
        self._parameter_constraints["objective"] = [StrOptions(_objective_names()), Objective]
        super()._validate_params()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        return tags

    # -- helpers ----------------------------------------------------------------
    def _eval_cutoffs(self):
        ks = [self.eval_at] if isinstance(self.eval_at, numbers.Integral) else list(self.eval_at)
        if not ks or any((not isinstance(k, numbers.Integral)) or k < 1 for k in ks):
            raise ValueError(f"eval_at must be positive integers, got {self.eval_at!r}")
        return [int(k) for k in ks]

    def _metrics(self):
        from .metrics import parse_metric

        opts = {} if self.label_gain is None else {"gain": np.asarray(self.label_gain, dtype=np.float64)}
        out = []
        for k in self._eval_cutoffs():
            m = parse_metric(f"ndcg@{k}", **opts)
            out.append((f"ndcg@{k}", m, m.higher_is_better))
        return out

    # unbiased=... -> (objective name, extra constructor arguments)
    _UNBIASED = {"naive": "ipw", "ipw": "ipw", "dla": "dla", "unbiased_lambdamart": "unbiased_lambdamart"}

    def _unbiased_objective(self, params, fixed_propensity=None):
        """The click objective for `unbiased`, built around the ranking loss named by `objective`.

        `fixed_propensity` (cross-fitted DLA): an IPW objective with those propensities.
        """
        base = self.objective.name if isinstance(self.objective, Objective) else self.objective
        if base in ("lambdamart", "lambdarank"):
            loss = "lambdarank"
        elif base in ("softmax", "softmax_ce", "listnet"):
            loss = "softmax"
        elif base == "yetirank":
            loss = "yetirank"
        else:
            raise ValueError(f"unbiased={self.unbiased!r} works with objective 'lambdamart', 'softmax' or "
                             f"'yetirank', not {base!r}")
        name = "ipw" if fixed_propensity is not None else self._UNBIASED[self.unbiased]
        kwargs = {k: params[k] for k in ("sigmoid", "lambdarank_truncation_level", "lambdarank_norm")}
        if name != "unbiased_lambdamart":
            kwargs["ranker_loss"] = loss
        elif loss != "lambdarank":
            raise ValueError("unbiased='unbiased_lambdamart' is pairwise: use objective='lambdamart'")
        if self.unbiased == "ipw":
            if self.propensity is None:
                raise ValueError("unbiased='ipw' needs the examination propensities: pass propensity=[p_1, p_2, ...]")
            kwargs["propensity"] = np.asarray(self.propensity, dtype=np.float64)
        elif self.propensity is not None:
            raise ValueError(f"propensity= is for unbiased='ipw'; unbiased={self.unbiased!r} does not use it")
        if fixed_propensity is not None:
            kwargs["propensity"] = np.asarray(fixed_propensity, dtype=np.float64)
            kwargs["max_propensity_weight"] = 10.0  # DLA's default clip
        kwargs.update(self.objective_params or {})
        try:
            return get_objective(name, **kwargs) if not kwargs else _build(name, kwargs)
        except TypeError as exc:
            raise ValueError(f"objective_params do not fit unbiased={self.unbiased!r}: {exc}") from None

    def _make_objective(self, fixed_propensity=None):
        params = self.get_params(deep=False)
        params.pop("objective")
        if self.unbiased is not None:
            return self._unbiased_objective(params, fixed_propensity)
        if isinstance(self.objective, Objective):
            if self.objective_params:
                raise ValueError("objective_params is for objective names; configure an Objective instance directly")
            return get_objective(self.objective)
        obj = get_objective(self.objective, **params)
        if self.objective_params:
            cls = type(obj)
            kwargs = {k: params[k] for k in cls.estimator_params if k in params}
            kwargs.update(self.objective_params)
            try:
                obj = cls(**kwargs)
            except TypeError as exc:
                raise ValueError(f"objective_params do not fit objective {self.objective!r}: {exc}") from None
        return obj

    def _validate_X_predict(self, X):
        check_is_fitted(self, "booster_")
        return check_X(self, X, reset=False)

    def _metric_gain(self):
        """Label rule of the evaluation metric (NDCG): label_gain if given, else 2**y - 1."""
        return {"gain": "exp", "label_gain": None if self.label_gain is None else np.asarray(self.label_gain, float)}

    # -- fit ------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, qid=None, group=None, sample_weight=None, position=None, eval_set=None, eval_qid=None,
            eval_group=None, callbacks=None, init_model=None):
        """Fit the ranker.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            NaN marks a missing value.
        y : array-like of shape (n_samples,)
            Relevance labels (integers for LambdaMART; see the objective).
        qid : array-like of shape (n_samples,), optional
            Query id of every row, in any order. Rows of a query need not be
            contiguous; outputs keep the caller's row order.
        group : array-like of shape (n_queries,), optional
            LightGBM-style query sizes (rows already grouped). Not with qid.
        sample_weight : array-like of shape (n_samples,), optional
            Row weights; gradients and hessians are multiplied by them.
        position : array-like of shape (n_samples,), optional
            1-based display position of each row (unbiased objectives).
        eval_set : list of (X, y) pairs, optional
            Evaluation sets; each needs its query ids in eval_qid (or sizes
            in eval_group) unless it is a single query.
        eval_qid, eval_group : list of array-like, optional
        callbacks : list of ltr.callbacks.Callback, optional
        init_model : LambdaRanker, Booster or path, optional
            Continue training from this model (same bins and objective).

        Returns
        -------
        self
        """
        # Every check goes through ltr._validation (one rule, one message).
        check_tree_shape(self.grow_policy, self.max_depth, self.score_function, self.random_strength)
        X = check_X(self, X, reset=True)
        n_samples = X.shape[0]
        y = check_labels(y, n_samples=n_samples)
        sample_weight = check_sample_weight(sample_weight, n_samples)
        position = check_position(position, n_samples)
        qid, group = check_query_args(n_samples, qid, group)
        if hasattr(self, "propensity_cross_fit_"):
            del self.propensity_cross_fit_
        fixed_propensity = None
        if check_cross_fit_request(self.unbiased, self.propensity_estimation, self.cross_fit_params, position):
            self._make_objective()  # the objective settings are checked before the (long) cross-fit
            estimate = self._cross_fit_propensity(X, y, qid, group, sample_weight, position)
            fixed_propensity = estimate.propensity
        objective = self._make_objective(fixed_propensity)
        check_objective_labels(objective, y)  # in the caller's row order, so a reported row number is theirs
        # Rows in canonical order (by query id, then content hash): any permutation
        # of the input rows trains the same model. Raw X is never copied; its rows
        # are reordered while binning.
        layout, hashes = canonical_layout(X, y, qid=qid, group=group, what="X", extra=(sample_weight, position))
        y = layout.to_grouped(y)
        sample_weight = layout.to_grouped(sample_weight)
        position = layout.to_grouped(position)

        seed = resolve_seed(self.random_state)
        init_booster = self._init_booster(init_model)
        if init_booster is not None:
            if objective.name != init_booster.objective.name:
                raise ValueError(f"init_model was trained with objective {init_booster.objective.name!r}, "
                                 f"not {objective.name!r}")
            objective.set_state(init_booster.objective.state())

        callbacks = list(callbacks or [])
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be ltr.callbacks.Callback instances, got {type(cb).__name__}")

        with numba_threads(self.n_jobs):
            if init_booster is not None:
                check_n_features(X.shape[1], init_booster.n_features, "X", owner="init_model")
                bin_mapper = init_booster.bin_mapper
            else:
                bin_mapper = BinMapper(max_bin=self.max_bin, seed=seed & 0xFFFFFFFF)
                bin_mapper.fit(X, sample_rows=hash_sample(hashes, bin_mapper.subsample, seed))
            X_binned = bin_mapper.transform(X, row_order=layout.order)
            del X
            objective.setup(y, layout.group_ptr, sample_weight=sample_weight, seed=seed, position=position)
            if objective.is_ranking:
                report_degenerate_queries(objective.n_degenerate_queries_, layout.n_queries, self.verbose)

            eval_sets = self._prepare_eval_sets(eval_set, eval_qid, eval_group, bin_mapper,
                                                train_has_queries=qid is not None or group is not None)
            metrics = self._metrics() if eval_sets else []
            early = None
            if self.early_stopping_rounds is not None:
                if not eval_sets:
                    raise ValueError("early_stopping_rounds needs an eval_set")
                early = EarlyStopping(self.early_stopping_rounds, metric=metrics[0][0])
                callbacks.append(early)
            if self.verbose and eval_sets:
                callbacks.append(LogEvaluation(period=int(self.verbose)))

            if init_booster is not None:
                booster = Booster(bin_mapper, objective, init_booster.init_score, init_booster.n_features,
                                  feature_names=init_booster.feature_names, trees=list(init_booster.trees))
            else:
                names = list(self.feature_names_in_) if hasattr(self, "feature_names_in_") else None
                booster = Booster(bin_mapper, objective, objective.init_score(), X_binned.shape[1],
                                  feature_names=names)
            booster.params = self._params_for_file()
            tree_params = TreeParams(num_leaves=self.num_leaves, max_depth=self.max_depth,
                                     min_child_samples=self.min_child_samples, min_child_weight=self.min_child_weight,
                                     min_split_gain=self.min_split_gain, reg_alpha=self.reg_alpha,
                                     reg_lambda=self.reg_lambda, learning_rate=self.learning_rate)
            sampling = _boosting.SamplingParams(self.subsample, self.subsample_freq, self.colsample_bytree)
            n_before = booster.n_trees
            evals_result, _ = _boosting.train(X_binned, y, layout.group_ptr, booster, tree_params, self.n_estimators,
                                              seed, sampling, eval_sets, metrics, callbacks,
                                              grow_policy=self.grow_policy, score_function=self.score_function,
                                              random_strength=float(self.random_strength))

        self.booster_ = booster
        self.objective_ = objective
        if fixed_propensity is not None:
            self.propensity_cross_fit_ = estimate
        self.n_iter_ = booster.n_trees - n_before
        self.evals_result_ = evals_result
        if early is not None and early.best_iteration is not None:
            self.best_iteration_ = early.best_iteration + 1
            self.best_score_ = early.best_score
            booster.best_iteration = self.best_iteration_
        else:
            self.best_iteration_ = None
            self.best_score_ = {d: {m: v[-1] for m, v in ms.items()} for d, ms in evals_result.items()}
        return self

    def _cross_fit_propensity(self, X, y, qid, group, sample_weight, position):
        """``propensity_estimation='cross_fit'``: ``estimate_propensity_cross_fit`` on the training rows."""
        from .unbiased import estimate_propensity_cross_fit

        if qid is None:
            sizes = np.asarray(group if group is not None else [X.shape[0]], dtype=np.int64)
            qid = np.repeat(np.arange(sizes.shape[0]), sizes)
        kw = dict(self.cross_fit_params or {})
        ranker = dict(n_estimators=100, learning_rate=0.1, num_leaves=self.num_leaves, n_jobs=self.n_jobs)
        ranker.update(kw.pop("ranker_params", None) or {})
        kw.setdefault("random_state", resolve_seed(self.random_state))
        try:
            return estimate_propensity_cross_fit(X, y, qid, position, sample_weight=sample_weight,
                                                 ranker_params=ranker, **kw)
        except TypeError as exc:
            raise ValueError(f"cross_fit_params do not fit estimate_propensity_cross_fit: {exc}") from None

    def _params_for_file(self):
        params = {}
        for k, v in self.get_params(deep=False).items():
            if isinstance(v, Objective):
                v = v.name
            elif isinstance(v, np.ndarray):
                v = v.tolist()
            elif isinstance(v, tuple):
                v = list(v)
            elif k == "random_state" and not (v is None or isinstance(v, (int, np.integer))):
                v = None
            if isinstance(v, np.integer):
                v = int(v)
            elif isinstance(v, np.floating):
                v = float(v)
            params[k] = v
        return params

    def _init_booster(self, init_model):
        if init_model is None:
            return None
        if isinstance(init_model, LambdaRanker):
            check_is_fitted(init_model, "booster_")
            return init_model.booster_
        if isinstance(init_model, Booster):
            return init_model
        if isinstance(init_model, (str, os.PathLike)):
            return Booster.load_model(init_model)
        raise TypeError(f"init_model must be a fitted LambdaRanker, a Booster or a path, got {type(init_model).__name__}")

    def _prepare_eval_sets(self, eval_set, eval_qid, eval_group, bin_mapper, train_has_queries=True):
        out = []
        for i, Xe, ye, q, g in check_eval_sets(eval_set, eval_qid, eval_group, train_has_queries=train_has_queries):
            where = f"eval_set[{i}]"
            Xe = check_X(self, Xe, reset=False, name=where, purpose="evaluation")
            ye = check_labels(ye, n_samples=Xe.shape[0], name=f"{where} y", what=where, **self._metric_gain())
            q, g = check_query_args(Xe.shape[0], q, g, what=where, qid_name=f"eval_qid[{i}]",
                                    group_name=f"eval_group[{i}]")
            # Eval rows keep the caller's order within each query: the recorded metric then
            # equals ltr.metrics on the caller's arrays (ties broken the same way).
            layout = make_layout(Xe.shape[0], qid=q, group=g, what=where, warn_single=False)
            out.append(_boosting.EvalSet(f"valid_{i}", bin_mapper.transform(Xe, row_order=layout.order),
                                         layout.to_grouped(ye), layout.group_ptr))
        return out

    # -- predict / score ----------------------------------------------------------------
    def predict(self, X, num_iteration=None):
        """Scores of the rows of X (higher ranks higher); needs no query ids.

        Uses the best iteration after early stopping unless `num_iteration`
        says otherwise.
        """
        X = self._validate_X_predict(X)
        if num_iteration is None:
            num_iteration = self.best_iteration_
        with numba_threads(self.n_jobs):
            return self.booster_.predict(X, num_iteration=num_iteration)

    def _check_proba(self):
        obj = self.objective_ if hasattr(self, "objective_") else self._make_objective()
        if not obj.produces_probabilities:
            raise AttributeError(
                f"predict_proba is not available: objective {obj.name!r} does not produce calibrated "
                "probabilities (use a calibrated objective such as 'binary' or 'rcr')"
            )
        return True

    @available_if(_check_proba)
    def predict_proba(self, X, num_iteration=None):
        """Calibrated probability of relevance of every row, shape (n_samples,).

        Only for objectives whose scores are probabilities on the logit scale
        (``produces_probabilities``, e.g. 'binary', 'rcr'); for other
        objectives the method is absent (AttributeError saying why).
        """
        raw = self.predict(X, num_iteration=num_iteration)
        return self.objective_.transform(raw)

    def score(self, X, y, *, qid=None, group=None, sample_weight=None):
        """Mean NDCG@10 over the queries (LightGBM conventions: exp gain, empty query = 1).

        With `sample_weight`, each query's NDCG is weighted by the mean weight
        of its rows.
        """
        from .metrics import ndcg_score

        scores = self.predict(X)
        y = check_labels(y, n_samples=len(scores), **self._metric_gain())
        qid, group = check_query_args(len(scores), qid, group)
        opts = {} if self.label_gain is None else {"gain": np.asarray(self.label_gain, dtype=np.float64)}
        if sample_weight is None:
            return float(ndcg_score(y, scores, qid=qid, group=group, k=10, **opts))
        per_query = np.asarray(ndcg_score(y, scores, qid=qid, group=group, k=10, per_query=True, **opts), dtype=float)
        sample_weight = check_sample_weight(sample_weight, len(scores))
        layout = make_layout(len(scores), qid=qid, group=group, warn_single=False)
        w = np.add.reduceat(layout.to_grouped(sample_weight), layout.group_ptr[:-1]) / layout.sizes()
        keep = ~np.isnan(per_query)
        return float(np.average(per_query[keep], weights=w[keep]))

    @property
    def propensity_(self):
        """Estimated examination propensity per position, relative to position 1 (click objectives)."""
        check_is_fitted(self, "booster_")
        p = getattr(self.objective_, "propensity_", None)
        if p is None:
            raise AttributeError(f"objective {self.objective_.name!r} has no position propensities")
        return np.asarray(p)

    @property
    def propensity_history_(self):
        """The propensity estimate after each tree (DLA) or each cross-fit round, shape (n_updates, n_positions)."""
        check_is_fitted(self, "booster_")
        if hasattr(self, "propensity_cross_fit_"):
            return np.asarray(self.propensity_cross_fit_.history)
        h = getattr(self.objective_, "propensity_history_", None)
        if h is None:
            raise AttributeError(f"objective {self.objective_.name!r} keeps no propensity history")
        return np.asarray(h)

    @property
    def feature_importances_(self):
        check_is_fitted(self, "booster_")
        return self.booster_.feature_importance(self.importance_type, num_iteration=self.best_iteration_)

    # -- model files ----------------------------------------------------------------------
    def save_model(self, path, overwrite=False):
        """Save the fitted model as versioned JSON (no pickle: loading never runs code)."""
        check_is_fitted(self, "booster_")
        self.booster_.save_model(path, overwrite=overwrite)

    @classmethod
    def load_model(cls, path):
        """A fitted LambdaRanker from a file written by `save_model`."""
        booster = Booster.load_model(path)
        known = cls().get_params(deep=False)
        params = {k: v for k, v in booster.params.items() if k in known}
        if isinstance(params.get("eval_at"), list):
            params["eval_at"] = tuple(params["eval_at"])
        est = cls(**params)
        est.booster_ = booster
        est.objective_ = booster.objective
        est.n_features_in_ = booster.n_features
        if booster.feature_names is not None:
            est.feature_names_in_ = np.asarray(booster.feature_names, dtype=object)
        est.n_iter_ = booster.n_trees
        est.best_iteration_ = booster.best_iteration
        est.evals_result_ = {}
        est.best_score_ = {}
        return est
