"""Objective registry: ``objective='name'`` or an ``Objective`` instance."""
import copy

from ._base import Objective

_REGISTRY = {}


def register(cls):
    """Class decorator adding an objective (and its aliases) to the registry."""
    names = (cls.name,) + tuple(getattr(cls, "aliases", ()))
    for n in names:
        _REGISTRY[n] = cls
    return cls


def available_objectives():
    """Every registry name, aliases included, sorted."""
    return sorted(_REGISTRY)


def canonical_objectives():
    """One canonical name per objective class (no aliases), in registry-name order."""
    seen, names = set(), []
    for name in available_objectives():
        cls = _REGISTRY[name]
        if cls not in seen:
            seen.add(cls)
            names.append(cls.name)
    return names


def get_objective(objective, **estimator_params):
    """A fresh objective from a registry name or an instance (which is copied).

    `estimator_params` are the estimator's parameters; those listed in the
    class's ``estimator_params`` are passed to its constructor.
    """
    if isinstance(objective, Objective):
        return copy.deepcopy(objective)
    if isinstance(objective, str):
        try:
            cls = _REGISTRY[objective]
        except KeyError:
            raise ValueError(f"unknown objective {objective!r}; choose one of {available_objectives()}") from None
        kwargs = {k: estimator_params[k] for k in cls.estimator_params if k in estimator_params}
        return cls(**kwargs)
    raise TypeError(f"objective must be a name or an ltr Objective instance, got {type(objective).__name__}")


def objective_from_dict(d):
    """Rebuild an objective saved as {"name": ..., "params": ..., "state": ...}."""
    cls = _REGISTRY.get(d["name"])
    if cls is None:
        raise ValueError(f"the model uses objective {d['name']!r}, which this version of ltr does not have")
    obj = cls(**d.get("params", {}))
    obj.set_state(d.get("state", {}))
    return obj


# Importing the modules registers their objectives.
from . import lambdamart, listwise, pointwise, rcr, stochasticrank, unbiased, yetirank  # noqa: E402,F401

__all__ = ["Objective", "register", "get_objective", "available_objectives", "objective_from_dict"]
