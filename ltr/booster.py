"""The trained model: bin thresholds, trees, objective, and its JSON file format."""
import json
import os
import tempfile

import numpy as np
from scipy import sparse

from ._validation import ModelFormatError, check_model_header, check_output_path, read_model_json  # noqa: F401
from ._version import __version__
from .binning import BinMapper
from .predictor import Ensemble, Tree

#: Version of the JSON model format. Bump on incompatible changes; loading a
#: file with a newer version is refused with a clear message.
FORMAT_VERSION = 1
FORMAT_NAME = "ltr-model"


class Booster:
    """An additive model of trees on raw features.

    ``raw(x) = init_score + sum_t tree_t(x)``. The first ``num_iteration``
    trees may be used for prediction (``best_iteration`` after early stopping).

    Attributes
    ----------
    bin_mapper : BinMapper
    objective : Objective
    init_score : float
    trees : list of Tree
    feature_names : list of str or None
    params : dict
        Training parameters (for the record and model files).
    best_iteration : int or None
        Number of trees that gave the best validation score, if known.
    """

    def __init__(self, bin_mapper, objective, init_score, n_features, feature_names=None, params=None, trees=None,
                 best_iteration=None):
        self.bin_mapper = bin_mapper
        self.objective = objective
        self.init_score = float(init_score)
        self.n_features = int(n_features)
        self.feature_names = list(feature_names) if feature_names is not None else None
        self.params = dict(params or {})
        self.trees = list(trees or [])
        self.best_iteration = best_iteration
        self._ensemble_cache = None

    @property
    def n_trees(self):
        return len(self.trees)

    def _ensemble(self):
        if self._ensemble_cache is None or self._ensemble_cache.n_trees != len(self.trees):
            self._ensemble_cache = Ensemble(self.trees)
        return self._ensemble_cache

    def add_tree(self, tree):
        self.trees.append(tree)

    def truncate(self, n_trees):
        """Keep only the first `n_trees` trees."""
        del self.trees[n_trees:]
        self._ensemble_cache = None

    def _n_used(self, num_iteration):
        if num_iteration is None or num_iteration <= 0:
            return len(self.trees)
        return min(int(num_iteration), len(self.trees))

    def predict(self, X, num_iteration=None):
        """Raw scores of X (n_samples, n_features) using the first `num_iteration` trees (all if None)."""
        ens = self._ensemble()
        n_used = self._n_used(num_iteration)
        if sparse.issparse(X):
            X = X.tocsr()
            out = np.empty(X.shape[0], dtype=np.float64)
            step = 65536
            for a in range(0, X.shape[0], step):
                block = np.ascontiguousarray(X[a:a + step].toarray(), dtype=np.float64)
                ens.predict_raw(block, self.init_score, n_used, out=out[a:a + step])
            return out
        X = np.asarray(X)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        X = np.ascontiguousarray(X)
        return ens.predict_raw(X, self.init_score, n_used)

    def predict_binned(self, X_binned, num_iteration=None):
        return self._ensemble().predict_binned(X_binned, self.bin_mapper.missing_bin_, self.init_score, 0,
                                               self._n_used(num_iteration))

    def feature_importance(self, importance_type="split", num_iteration=None):
        """Per feature: number of splits ('split') or total split gain ('gain')."""
        if importance_type not in ("split", "gain"):
            raise ValueError(f"importance_type must be 'split' or 'gain', got {importance_type!r}")
        out = np.zeros(self.n_features, dtype=np.float64)
        for tree in self.trees[: self._n_used(num_iteration)]:
            if importance_type == "split":
                np.add.at(out, tree.split_feature, 1.0)
            else:
                np.add.at(out, tree.split_feature, tree.split_gain)
        return out.astype(np.int64) if importance_type == "split" else out

    # -- serialisation --------------------------------------------------------
    def to_dict(self):
        obj = self.objective
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "ltr_version": __version__,
            "n_features": self.n_features,
            "feature_names": self.feature_names,
            "params": self.params,
            "objective": {"name": obj.name, "params": obj.get_params(), "state": obj.state()},
            "init_score": self.init_score,
            "best_iteration": self.best_iteration,
            "bin_mapper": self.bin_mapper.to_dict(),
            "trees": [t.to_dict() for t in self.trees],
        }

    @classmethod
    def from_dict(cls, d):
        from .objectives import objective_from_dict

        check_model_header(d, FORMAT_NAME, FORMAT_VERSION, __version__)
        _check_field_types(d)
        try:
            booster = cls(
                bin_mapper=BinMapper.from_dict(d["bin_mapper"]),
                objective=objective_from_dict(d["objective"]),
                init_score=d["init_score"],
                n_features=d["n_features"],
                feature_names=d.get("feature_names"),
                params=d.get("params", {}),
                trees=[Tree.from_dict(t) for t in d["trees"]],
                best_iteration=d.get("best_iteration"),
            )
        except ModelFormatError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"model file is damaged: {type(exc).__name__}: {exc}") from None
        booster._check_consistency()
        return booster

    def _check_consistency(self):
        nf = self.n_features
        if self.bin_mapper.n_features_ != nf or self.bin_mapper.has_missing_.shape != (nf,):
            raise ModelFormatError("model file is damaged: bin thresholds do not match n_features")
        for f, t in enumerate(self.bin_mapper.thresholds_):
            if t.ndim != 1 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
                raise ModelFormatError(f"model file is damaged: bin thresholds of feature {f} are not increasing numbers")
        if self.feature_names is not None and (len(self.feature_names) != nf
                                               or not all(isinstance(n, str) for n in self.feature_names)):
            raise ModelFormatError(f"model file is damaged: feature_names must be {nf} strings")
        bi = self.best_iteration
        if bi is not None and (type(bi) is not int or not 1 <= bi <= len(self.trees)):
            raise ModelFormatError(f"model file is damaged: best_iteration {bi!r} is not a tree count in "
                                   f"[1, {len(self.trees)}]")
        if not np.isfinite(self.init_score):
            raise ModelFormatError("model file is damaged: init_score is not finite")
        for i, t in enumerate(self.trees):
            n_int = t.split_feature.shape[0]
            if t.n_leaves != n_int + 1:
                raise ModelFormatError(f"model file is damaged: tree {i} has {t.n_leaves} leaves and {n_int} splits")
            for name in ("threshold_bin", "threshold", "missing_left", "left_child", "right_child"):
                if getattr(t, name).shape[0] != n_int:
                    raise ModelFormatError(f"model file is damaged: tree {i} field {name} has the wrong length")
            if n_int and (t.split_feature.min() < 0 or t.split_feature.max() >= nf):
                raise ModelFormatError(f"model file is damaged: tree {i} splits on a feature that does not exist")
            if n_int and not _is_tree(t.left_child, t.right_child, t.n_leaves):
                # a cycle would make prediction loop forever
                raise ModelFormatError(f"model file is damaged: tree {i} child links do not form a tree")
            if n_int and (t.threshold_bin.min() < 0 or t.threshold_bin.max() >= self.bin_mapper.missing_bin_):
                raise ModelFormatError(f"model file is damaged: tree {i} has a bin threshold out of range")
            if np.any(np.isnan(t.threshold)):
                raise ModelFormatError(f"model file is damaged: tree {i} has a NaN threshold")
            if not np.all(np.isfinite(t.leaf_value)):
                raise ModelFormatError(f"model file is damaged: tree {i} has non-finite leaf values")

    def save_model(self, path, overwrite=False):
        """Write the model as JSON. An existing file is replaced only with ``overwrite=True``.

        The file is written to a temporary name in the same folder and then
        renamed, so an interrupted save never leaves a truncated model.
        """
        path = check_output_path(path, overwrite, what="model file")
        text = json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".ltr-model-", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    @classmethod
    def load_model(cls, path):
        """Read a model written by `save_model`; damaged or foreign files raise ModelFormatError."""
        return cls.from_dict(read_model_json(path))


# -- checks of parsed model files ---------------------------------------------------
# JSON readers turn damaged numbers into strings, floats into ints and so on;
# NumPy would convert most of that silently, so the types are checked first.
_TREE_INT_FIELDS = ("split_feature", "threshold_bin", "left_child", "right_child", "internal_count", "leaf_count",
                    "missing_left")
_TREE_FLOAT_FIELDS = ("threshold", "split_gain", "internal_value", "internal_weight", "leaf_value", "leaf_weight")
_LEAF_FIELDS = ("leaf_value", "leaf_weight", "leaf_count")


def _kind_of_list(values, allow_null=False):
    """'i' (all integers), 'f' (numbers) or None (anything else, including bools and strings)."""
    if not isinstance(values, list):
        return None
    if allow_null:
        values = [0.0 if v is None else v for v in values]
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError):  # ragged nesting
        return None
    if arr.ndim != 1:
        return None
    if arr.size == 0 or arr.dtype.kind in "iu":  # an empty list suits both kinds
        return "i"
    return "f" if arr.dtype.kind == "f" else None


def _check_field_types(d):
    """ModelFormatError when a field of a parsed model file has the wrong JSON type or length."""

    def bad(where, what):
        raise ModelFormatError(f"model file is damaged: {where} {what}")

    nf = d.get("n_features")
    if type(nf) is not int or nf < 1:
        bad("n_features", "is not a positive integer")
    if type(d.get("init_score")) not in (int, float):
        bad("init_score", "is not a number")
    bm = d.get("bin_mapper")
    if not isinstance(bm, dict) or type(bm.get("max_bin")) is not int or not isinstance(bm.get("thresholds"), list):
        bad("bin_mapper", "is not a table of bin thresholds")
    if len(bm["thresholds"]) != nf or any(_kind_of_list(t) is None for t in bm["thresholds"]):
        bad("bin_mapper", f"must hold {nf} lists of numbers")
    if not isinstance(bm.get("has_missing"), list) or any(type(v) is not bool for v in bm["has_missing"]):
        bad("bin_mapper.has_missing", "is not a list of true/false")
    obj = d.get("objective")
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not isinstance(obj.get("params", {}), dict) \
            or not isinstance(obj.get("state", {}), dict):
        bad("objective", "is not a table with a name, params and state")
    if not isinstance(d.get("params", {}), dict):
        bad("params", "is not a table")
    trees = d.get("trees")
    if not isinstance(trees, list):
        bad("trees", "is not a list")
    for i, t in enumerate(trees):
        if not isinstance(t, dict):
            bad(f"tree {i}", "is not a table")
        for name in _TREE_INT_FIELDS + _TREE_FLOAT_FIELDS:
            if name not in t:
                bad(f"tree {i}", f"has no field {name!r}")
            kind = _kind_of_list(t[name], allow_null=name == "threshold")
            if kind is None or (name in _TREE_INT_FIELDS and kind != "i"):
                want = "integers" if name in _TREE_INT_FIELDS else "numbers"
                bad(f"tree {i} field {name!r}", f"is not a list of {want}")
        n_leaves = len(t["leaf_value"])
        if n_leaves < 1:
            bad(f"tree {i}", "has no leaf")
        for name in _TREE_INT_FIELDS + _TREE_FLOAT_FIELDS:
            want = n_leaves if name in _LEAF_FIELDS else n_leaves - 1
            if len(t[name]) != want:
                bad(f"tree {i} field {name!r}", f"has {len(t[name])} values, expected {want}")


def _is_tree(left_child, right_child, n_leaves):
    """Whether child links describe one tree in split order.

    Internal node 0 is the root; an internal child has a larger index than
    its parent (nodes are numbered in split order), and every other internal
    node and every leaf is the child of exactly one node.
    """
    n_int = left_child.shape[0]
    children = np.concatenate([left_child, right_child]).astype(np.int64)
    parents = np.concatenate([np.arange(n_int), np.arange(n_int)])
    internal = children >= 0
    if np.any(children[internal] >= n_int) or np.any(children[internal] <= parents[internal]):
        return False
    leaves = ~children[~internal]
    if np.any(leaves >= n_leaves):
        return False
    return (np.array_equal(np.sort(children[internal]), np.arange(1, n_int))
            and np.array_equal(np.sort(leaves), np.arange(n_leaves)))
