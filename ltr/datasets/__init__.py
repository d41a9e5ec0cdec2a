"""Data for learning to rank: file readers, the Baidu-ULTR formats, a generator, a bundled sample.

* :func:`load_svmlight` / :func:`dump_svmlight` -- svmlight/LETOR text files
  (MSLR-WEB, Yahoo, Istella, LETOR 4.0), read by a parallel Numba parser
  that matches scikit-learn's reader bit for bit, with an optional cache.
* :func:`load_letor_fold` -- train/validation/test of one fold, from
  ``S1..S5`` partitions or ``Fold{k}/`` directories.
* :func:`load_baidu_ultr_sessions` -- Hager et al.'s preprocessed session
  tables; :func:`iter_baidu_ultr_clicklog` / :func:`load_baidu_ultr_clicklog`
  -- the raw WSDM Cup click logs; :func:`load_baidu_ultr_annotations`.
* :func:`make_ranking` -- MSLR-shaped synthetic data.
* :func:`load_sample` -- the small data set shipped with the package.

Nothing here writes files except :func:`dump_svmlight` (to the path given)
and the cache (only into the ``cache_dir`` given).
"""
from ._baidu import (
    BaiduULTR,
    iter_baidu_ultr_clicklog,
    load_baidu_ultr_annotations,
    load_baidu_ultr_clicklog,
    load_baidu_ultr_sessions,
)
from ._generate import MSLR_LABEL_MIX, make_ranking
from ._letor import LetorFold, Split, load_letor_fold
from ._sample import load_sample
from ._svmlight import load_svmlight
from ._svmlight_write import dump_svmlight

__all__ = [
    "load_svmlight",
    "dump_svmlight",
    "load_letor_fold",
    "LetorFold",
    "Split",
    "load_baidu_ultr_sessions",
    "load_baidu_ultr_clicklog",
    "iter_baidu_ultr_clicklog",
    "load_baidu_ultr_annotations",
    "BaiduULTR",
    "make_ranking",
    "MSLR_LABEL_MIX",
    "load_sample",
]
