"""Export a model to LightGBM's text model format.

The file written by `save_lightgbm_model` loads with
``lightgbm.Booster(model_file=path)``, and LightGBM's
``predict(X, raw_score=True)`` then returns the scores of our ``predict``.
Serving stacks that read LightGBM models (LightGBM itself, Treelite, ONNX
converters, leaves, ...) can therefore serve an ltr model.

How our trees map onto LightGBM's
---------------------------------
Both libraries store a tree as flat arrays in the same layout: internal
nodes numbered in split order, ``left_child`` / ``right_child`` holding a
node index or ``~leaf`` for a leaf, and the test ``x <= threshold`` sending a
row left. Missing values differ only in how they are written down:

* ours: a NaN goes left when ``missing_left[k]`` is set;
* LightGBM: ``decision_type`` is a bit field; bit 1 (value 2) is
  "default left" and bits 2-3 hold the missing type, 2 meaning NaN. A NaN
  then takes the default direction and every other value is compared with
  the threshold. So ``decision_type = 8 + 2 * missing_left``.

A threshold of ``+inf`` (ours: every non-missing value goes left) is written
as ``1e300``: LightGBM clamps every threshold to ``[-1e300, 1e300]`` when it
reads a model. The two models agree on every input whose magnitude is at
most 1e300 (the estimator rejects infinite inputs anyway).

Our ``init_score`` (the constant start of the boosting) has no field in
LightGBM's format. It is added to every leaf of the first tree (LightGBM
does the same with its ``boost_from_average`` constant); a model without
trees becomes one single-leaf tree holding the constant. LightGBM sums the
trees in order starting from 0, so ``0 + (init + leaf_0) + leaf_1 + ...``
is computed with the same floating-point operations as our
``init + leaf_0 + leaf_1 + ...``: the scores agree to the last bit on data
with no value of magnitude below 1e-35 (LightGBM reads such tiny values of a
dense matrix as 0).

Numbers are written with Python's shortest round-trip representation, which
LightGBM parses back to the same doubles.
"""
import math
import os
import re
import tempfile

import numpy as np

from ._validation import check_output_path

#: LightGBM clamps thresholds to this magnitude (``Common::AvoidInf``).
LIGHTGBM_MAX_THRESHOLD = 1e300

# decision_type bits of LightGBM's numerical splits
_DEFAULT_LEFT = 2
_MISSING_NAN = 2 << 2

# Characters LightGBM does not accept in feature names (it splits the
# feature_names line on spaces and writes the names into JSON dumps).
_BAD_NAME_CHARS = re.compile(r'[\s",:\[\]{}]')

# ltr parameter -> LightGBM parameter, for the informational "parameters:" block.
_LIGHTGBM_PARAM_NAMES = {
    "n_estimators": "num_iterations",
    "learning_rate": "learning_rate",
    "num_leaves": "num_leaves",
    "max_depth": "max_depth",
    "min_child_samples": "min_data_in_leaf",
    "min_child_weight": "min_sum_hessian_in_leaf",
    "min_split_gain": "min_gain_to_split",
    "reg_alpha": "lambda_l1",
    "reg_lambda": "lambda_l2",
    "subsample": "bagging_fraction",
    "subsample_freq": "bagging_freq",
    "colsample_bytree": "feature_fraction",
    "max_bin": "max_bin",
    "random_state": "seed",
    "sigmoid": "sigmoid",
    "lambdarank_truncation_level": "lambdarank_truncation_level",
    "lambdarank_norm": "lambdarank_norm",
    "label_gain": "label_gain",
}


def _num(x):
    """Shortest text that parses back to the same double (LightGBM reads it exactly)."""
    x = float(x)
    if not math.isfinite(x):
        return repr(x)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def _join(values):
    return " ".join(_num(v) for v in values)


def _join_int(values):
    return " ".join(str(int(v)) for v in values)


def _lightgbm_objective(objective):
    """The objective line: one LightGBM accepts, whose raw score is ours.

    Probability objectives whose ``transform`` is the logistic function get
    ``binary sigmoid:1``, so that LightGBM's ``predict`` (without
    ``raw_score``) returns our ``predict_proba``; ranking objectives get
    ``lambdarank`` and the others ``regression`` (both: score = raw score).
    """
    if getattr(objective, "produces_probabilities", False):
        probe = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
        try:
            p = np.asarray(objective.transform(probe), dtype=np.float64)
        except (ValueError, TypeError):
            p = None
        if p is not None and p.shape == probe.shape and np.allclose(p, 1.0 / (1.0 + np.exp(-probe)), rtol=0,
                                                                    atol=1e-12):
            return "binary sigmoid:1"
    return "lambdarank" if getattr(objective, "is_ranking", False) else "regression"


def _feature_names(booster):
    """Names LightGBM accepts: ours with forbidden characters replaced, else Column_i."""
    n = booster.n_features
    default = [f"Column_{i}" for i in range(n)]
    if not booster.feature_names:
        return default
    names = [_BAD_NAME_CHARS.sub("_", str(name)) or f"Column_{i}" for i, name in enumerate(booster.feature_names)]
    if len(set(names)) != n:  # replacing characters made two names equal
        return default
    return names


def _feature_infos(booster):
    """LightGBM's per-feature ``[min:max]`` (``none`` for a constant feature).

    ltr model files keep the bin thresholds, not the data range, so the
    range written is that of the thresholds (it is informational: LightGBM
    does not use it to predict).
    """
    infos = []
    for t in booster.bin_mapper.thresholds_:
        if t.size == 0:
            infos.append("none")
        else:
            infos.append(f"[{_num(t[0])}:{_num(t[-1])}]")
    return infos


def _tree_block(index, tree, shift, shrinkage):
    """Text of one ``Tree=`` block (LightGBM's field order), with `shift` added to its outputs."""
    n_int = tree.split_feature.shape[0]
    leaf_value = tree.leaf_value + shift
    if n_int:
        threshold = np.clip(tree.threshold, -LIGHTGBM_MAX_THRESHOLD, LIGHTGBM_MAX_THRESHOLD)
        decision = _MISSING_NAN + _DEFAULT_LEFT * (tree.missing_left != 0).astype(np.int64)
        internal_value = tree.internal_value + shift
    else:
        threshold = decision = internal_value = np.zeros(0)
    lines = [
        f"Tree={index}",
        f"num_leaves={tree.n_leaves}",
        "num_cat=0",
        f"split_feature={_join_int(tree.split_feature)}",
        f"split_gain={_join(tree.split_gain)}",
        f"threshold={_join(threshold)}",
        f"decision_type={_join_int(decision)}",
        f"left_child={_join_int(tree.left_child)}",
        f"right_child={_join_int(tree.right_child)}",
        f"leaf_value={_join(leaf_value)}",
        f"leaf_weight={_join(tree.leaf_weight)}",
        f"leaf_count={_join_int(tree.leaf_count)}",
        f"internal_value={_join(internal_value)}",
        f"internal_weight={_join(tree.internal_weight)}",
        f"internal_count={_join_int(tree.internal_count)}",
        "is_linear=0",
        f"shrinkage={_num(shrinkage)}",
    ]
    # LightGBM ends a tree with a blank line and separates trees with one more;
    # its tree_sizes count both.
    return "\n".join(lines) + "\n\n\n"


def _single_leaf_tree(value):
    from .predictor import Tree

    empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
    return Tree(split_feature=empty_i, threshold_bin=empty_i, threshold=empty_f, missing_left=empty_i,
                left_child=empty_i, right_child=empty_i, split_gain=empty_f, internal_value=empty_f,
                internal_weight=empty_f, internal_count=empty_i, leaf_value=np.array([value]),
                leaf_weight=np.zeros(1), leaf_count=np.zeros(1, dtype=np.int64))


def _as_booster(model):
    from .booster import Booster

    if isinstance(model, Booster):
        return model, model.best_iteration
    booster = getattr(model, "booster_", None)
    if isinstance(booster, Booster):
        return booster, getattr(model, "best_iteration_", None)
    if hasattr(model, "get_params") and not hasattr(model, "booster_"):
        raise ValueError(f"this {type(model).__name__} is not fitted yet; call fit before exporting it")
    raise TypeError(f"expected a fitted LambdaRanker or an ltr Booster, got {type(model).__name__}")


def to_lightgbm_text(model, num_iteration=None):
    """LightGBM text model (the content of ``lightgbm.Booster.save_model``) of an ltr model.

    Parameters
    ----------
    model : LambdaRanker or Booster
        A fitted model.
    num_iteration : int or None, default=None
        Number of trees to export. None exports what ``predict`` uses: the
        trees up to the best iteration after early stopping, else all.

    Returns
    -------
    str
        ``lightgbm.Booster(model_str=text).predict(X, raw_score=True)``
        equals our ``predict(X)`` (see the module docstring for the two
        corner cases: magnitudes above 1e300 or below 1e-35).
    """
    booster, best = _as_booster(model)
    if num_iteration is None:
        num_iteration = best
    if num_iteration is not None and (not isinstance(num_iteration, (int, np.integer)) or num_iteration < 0):
        raise ValueError(f"num_iteration must be a non-negative integer or None, got {num_iteration!r}")
    trees = booster.trees[: booster._n_used(num_iteration)]
    init = float(booster.init_score)
    if not math.isfinite(init):
        raise ValueError(f"the model's init_score is not finite ({init}); it cannot be exported")
    shrinkage = float(booster.params.get("learning_rate", 1.0) or 1.0)

    if trees:
        blocks = [_tree_block(0, trees[0], init, shrinkage)]
        blocks += [_tree_block(i, t, 0.0, shrinkage) for i, t in enumerate(trees[1:], start=1)]
    else:
        blocks = [_tree_block(0, _single_leaf_tree(init), 0.0, 1.0)]

    names = _feature_names(booster)
    header = [
        "tree",
        "version=v4",
        "num_class=1",
        "num_tree_per_iteration=1",
        "label_index=0",
        f"max_feature_idx={booster.n_features - 1}",
        f"objective={_lightgbm_objective(booster.objective)}",
        "feature_names=" + " ".join(names),
        "feature_infos=" + " ".join(_feature_infos(booster)),
        "tree_sizes=" + " ".join(str(len(b.encode("utf-8"))) for b in blocks),
    ]
    out = ["\n".join(header) + "\n\n", *blocks, "end of trees\n\n"]

    # Split counts, most used first (LightGBM's layout; informational).
    counts = np.zeros(booster.n_features, dtype=np.int64)
    for t in trees:
        np.add.at(counts, t.split_feature, 1)
    order = sorted((i for i in range(booster.n_features) if counts[i] > 0), key=lambda i: (-counts[i], i))
    out.append("feature_importances:\n" + "".join(f"{names[i]}={counts[i]}\n" for i in order) + "\n")

    params = ["[boosting: gbdt]", f"[objective: {_lightgbm_objective(booster.objective).split()[0]}]"]
    for ours, theirs in _LIGHTGBM_PARAM_NAMES.items():
        v = booster.params.get(ours)
        if v is None:
            continue
        if isinstance(v, bool):
            v = int(v)
        if isinstance(v, (list, tuple)):
            v = ",".join(_num(x) for x in v)
        elif isinstance(v, (int, float)):
            v = _num(v)
        else:
            continue
        params.append(f"[{theirs}: {v}]")
    out.append("parameters:\n" + "\n".join(params) + "\nend of parameters\n\n")
    out.append("pandas_categorical:null\n")
    return "".join(out)


def save_lightgbm_model(model, path, overwrite=False, num_iteration=None):
    """Write `model` as a LightGBM text model file.

    Parameters
    ----------
    model : LambdaRanker or Booster
        A fitted model.
    path : str or PathLike
        Destination. An existing file is replaced only with ``overwrite=True``.
    overwrite : bool, default=False
    num_iteration : int or None, default=None
        See `to_lightgbm_text`.

    Notes
    -----
    The text is written to a temporary file in the destination folder and
    renamed, so an interrupted export never leaves a truncated model.
    """
    path = check_output_path(path, overwrite, what="LightGBM model file")
    text = to_lightgbm_text(model, num_iteration=num_iteration)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".ltr-lightgbm-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


__all__ = ["to_lightgbm_text", "save_lightgbm_model", "LIGHTGBM_MAX_THRESHOLD"]
