"""Distributed training on a Dask cluster (``dask.distributed``).

``DaskLambdaRanker`` trains data-parallel by query: every partition holds
whole queries, computes its gradients and histograms, histograms are summed
over a tree of workers and the driver grows the trees. The result is an
ordinary ``LambdaRanker`` model.

Importing this module needs ``dask[distributed]``.
"""
try:
    import dask  # noqa: F401
    import distributed  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("ltr.dask needs dask and distributed: pip install 'dask[distributed]'") from exc

from ._estimator import DaskLambdaRanker
from ._reduce import WorkerLostError

__all__ = ["DaskLambdaRanker", "WorkerLostError"]
