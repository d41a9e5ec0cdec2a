"""Train / validation / test splits of LETOR-style data sets.

Two on-disk layouts are in use:

* **Partitions** ``S1.txt .. S5.txt`` (LETOR 4.0, MSLR-WEB): the standard
  five-fold protocol rotates them,

  ====  ==============  ==========  ====
  fold  train           validation  test
  ====  ==============  ==========  ====
  1     S1, S2, S3      S4          S5
  2     S2, S3, S4      S5          S1
  3     S3, S4, S5      S1          S2
  4     S4, S5, S1      S2          S3
  5     S5, S1, S2      S3          S4
  ====  ==============  ==========  ====

* **Fold directories** ``Fold{k}/train.txt, vali.txt, test.txt`` (the
  official MSLR-WEB and MQ2007/MQ2008 downloads, which are the same
  partitions already assembled).

A directory that directly holds ``train.txt`` (and ``vali.txt``,
``test.txt``; Istella-S, Yahoo after renaming) is accepted as a single fold.
Each file may also be ``.gz``, ``.bz2`` or ``.xz`` compressed.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np
import scipy.sparse as sp

from ._svmlight import _load

#: Partitions (1-based) of each fold: train, validation, test.
FOLD_PARTITIONS = {
    1: ((1, 2, 3), 4, 5),
    2: ((2, 3, 4), 5, 1),
    3: ((3, 4, 5), 1, 2),
    4: ((4, 5, 1), 2, 3),
    5: ((5, 1, 2), 3, 4),
}

_SUFFIXES = ("", ".gz", ".bz2", ".xz")


class Split(NamedTuple):
    """One split of a data set: ``X, y, qid = split``."""

    X: object
    y: np.ndarray
    qid: Optional[np.ndarray]


@dataclass(frozen=True)
class LetorFold:
    """Train, validation and test splits of one fold.

    Attributes
    ----------
    train, valid, test : Split
        ``(X, y, qid)`` each; ``valid`` is None when the layout has no
        validation file (e.g. Istella's full release).
    fold : int
        Fold number (1-5).
    layout : {"partitions", "folds", "flat"}
        The layout that was found.
    files : dict
        Files read for each split, in concatenation order.
    """

    train: Split
    valid: Optional[Split]
    test: Split
    fold: int
    layout: str
    files: dict


def _find(root, stem):
    """Path of ``stem`` in ``root``, plain or compressed, or None."""
    for suffix in _SUFFIXES:
        path = root / f"{stem}{suffix}"
        if path.is_file():
            return path
    return None


def _detect(root, fold):
    """(layout, {split: [paths]}) for ``root`` and ``fold``."""
    parts = {k: _find(root, f"S{k}.txt") for k in range(1, 6)}
    if all(parts.values()):
        train, valid, test = FOLD_PARTITIONS[fold]
        return "partitions", {
            "train": [parts[k] for k in train],
            "valid": [parts[valid]],
            "test": [parts[test]],
        }
    fold_dir = root / f"Fold{fold}"
    if fold_dir.is_dir():
        files = {s: _find(fold_dir, f"{n}.txt") for s, n in (("train", "train"), ("valid", "vali"), ("test", "test"))}
        if files["train"] is not None and files["test"] is not None:
            return "folds", {s: ([p] if p is not None else []) for s, p in files.items()}
    train = _find(root, "train.txt")
    test = _find(root, "test.txt")
    if train is not None and test is not None:
        if fold != 1:
            raise ValueError(f"{root} holds a single split (train.txt/test.txt); fold must be 1, got {fold}")
        valid = _find(root, "vali.txt") or _find(root, "valid.txt")
        return "flat", {"train": [train], "valid": [valid] if valid else [], "test": [test]}
    present = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    missing = [f"S{k}.txt" for k, p in parts.items() if p is None]
    raise FileNotFoundError(
        f"no LETOR layout found in {root}: expected S1.txt..S5.txt (missing {', '.join(missing)}), "
        f"Fold{fold}/train.txt + vali.txt + test.txt, or train.txt + test.txt; found {present[:20]}"
    )


def _stack(blocks, dense):
    """Concatenate (X, y, qid) triples row-wise."""
    Xs, ys, qs = zip(*blocks)
    if len(blocks) == 1:
        return blocks[0]
    X = np.concatenate(Xs, axis=0) if dense else sp.vstack(Xs, format="csr")
    y = np.concatenate(ys)
    if any(q is None for q in qs):
        if not all(q is None for q in qs):
            raise ValueError("some files of this split have qid and others do not")
        q = None
    else:
        q = np.concatenate(qs)
    return X, y, q


def _widen(X, n_features, dense):
    """Pad X with zero columns up to ``n_features``."""
    if X.shape[1] == n_features:
        return X
    if dense:
        out = np.zeros((X.shape[0], n_features), dtype=X.dtype)
        out[:, : X.shape[1]] = X
        return out
    X = X.tocsr()
    return sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], n_features))


def load_letor_fold(root, fold=1, *, n_features=None, dense=True, dtype=np.float32, zero_based=False,
                    cache_dir=None):
    """Load one fold of a LETOR-style data set (MQ2007/MQ2008, MSLR-WEB, Istella).

    Parameters
    ----------
    root : str or os.PathLike
        Directory holding ``S1.txt..S5.txt``, or ``Fold1..Fold5``
        sub-directories, or ``train.txt``/``vali.txt``/``test.txt``.
    fold : int, default=1
        Fold number 1-5 (see the module docstring for the protocol).
    n_features : int, optional
        Width of X. By default the largest feature index over the files
        read; all splits get the same width.
    dense, dtype, cache_dir
        As in :func:`load_svmlight` (the cache holds each file once, so the
        partitions shared by different folds are parsed once).
    zero_based : {False, True, "auto"}, default=False
        LETOR files number features from 1, so feature ``j`` becomes column
        ``j - 1`` and an index 0 is an error. "auto" decides jointly over
        all files read (zero-based if any of them has an index 0).

    Returns
    -------
    LetorFold
        ``fold.train``, ``fold.valid``, ``fold.test`` are ``(X, y, qid)``
        named tuples; training rows are the partitions concatenated in the
        order of the protocol table.
    """
    root = Path(root)
    if fold not in FOLD_PARTITIONS:
        raise ValueError(f"fold must be one of 1, 2, 3, 4, 5, got {fold!r}")
    if zero_based not in (True, False, "auto"):
        raise ValueError(f"zero_based must be True, False or 'auto', got {zero_based!r}")
    layout, files = _detect(root, fold)

    # With "auto" every file is read zero-based (column j = index j) and
    # scikit-learn's joint rule is applied afterwards: one-based (drop the
    # then empty column 0) unless some file uses index 0 or has no feature.
    per_file_zero_based = True if zero_based == "auto" else zero_based
    loaded = {}
    infos = {}
    for paths in files.values():
        for path in paths:
            if path not in loaded:
                X, y, q, info = _load(path, n_features=None, dense=dense, dtype=dtype,
                                      zero_based=per_file_zero_based, cache_dir=cache_dir)
                loaded[path] = (X, y, q)
                infos[path] = info
    drop_first = zero_based == "auto" and all(info["min_index"] > 0 for info in infos.values())
    width = max(X.shape[1] for X, _, _ in loaded.values()) - (1 if drop_first else 0)
    if n_features is not None:
        if int(n_features) < width:
            raise ValueError(f"n_features={n_features} is too small: the files of fold {fold} have {width} features")
        width = int(n_features)

    def prepare(path):
        X, y, q = loaded[path]
        if drop_first and X.shape[1]:
            X = np.ascontiguousarray(X[:, 1:]) if dense else sp.csr_matrix(X[:, 1:])
        return _widen(X, width, dense), y, q

    splits = {}
    for name, paths in files.items():
        if not paths:
            splits[name] = None
            continue
        splits[name] = Split(*_stack([prepare(p) for p in paths], dense))
    return LetorFold(
        train=splits["train"], valid=splits["valid"], test=splits["test"], fold=fold, layout=layout,
        files={k: [str(p) for p in v] for k, v in files.items()},
    )

