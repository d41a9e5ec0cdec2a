"""Counter-based seeds for every random choice made during training.

Randomness is derived from (random_state, iteration, query) rather than
drawn from a stream, so a model does not depend on the number of threads,
on the order in which queries are processed, or on whether training was
split into several calls (save, load, continue).
"""
import numpy as np
from numba import njit

from ._dtypes import NJIT

_MASK64 = (1 << 64) - 1


@njit(**NJIT)
def splitmix64(x):
    """One step of the SplitMix64 mixer (Steele et al., 2014) on a uint64."""
    x = np.uint64(x) + np.uint64(0x9E3779B97F4A7C15)
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(**NJIT)
def mix_seed(seed, a, b):
    """Seed for the stream identified by (seed, a, b), e.g. (seed, iteration, query)."""
    h = splitmix64(np.uint64(seed))
    h = splitmix64(h ^ np.uint64(a))
    h = splitmix64(h ^ np.uint64(b))
    return h


def resolve_seed(random_state):
    """Turn a scikit-learn style `random_state` into a uint64 base seed.

    None draws a fresh seed (non-deterministic, as in scikit-learn); an int
    is used as is; a `numpy.random.RandomState` / `Generator` contributes one
    draw.
    """
    if random_state is None:
        return int(np.random.SeedSequence().entropy & _MASK64)
    if isinstance(random_state, (int, np.integer)):
        return int(random_state) & _MASK64
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    raise TypeError(f"random_state must be None, an int, a RandomState or a Generator, got {type(random_state).__name__}")


def iteration_rng(seed, iteration, stream=0):
    """A NumPy Generator for one (seed, iteration, stream) triple."""
    return np.random.default_rng([int(seed) & _MASK64, int(iteration), int(stream)])
