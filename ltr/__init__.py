"""ltr: gradient-boosted learning to rank on NumPy and Numba."""
from ._version import __version__

__all__ = ["__version__", "LambdaRanker"]


def __getattr__(name):
    # Lazy: `import ltr` stays fast (no Numba compilation, no scikit-learn import)
    # until the estimator is used.
    if name == "LambdaRanker":
        from .ranker import LambdaRanker

        return LambdaRanker
    if name in ("metrics", "datasets", "objectives", "callbacks", "unbiased", "plotting", "export", "dask"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ltr' has no attribute {name!r}")
