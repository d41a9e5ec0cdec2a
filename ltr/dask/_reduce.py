"""Sending command batches to the workers and reducing their answers over a tree.

The driver never talks to the partitions one by one. It sends one *batch*
of commands (e.g. "apply these two splits, then build the histogram of leaf
5") to the root of a binary tree of workers (rank r has children 2r+1 and
2r+2). Each worker forwards the batch to its children, runs it on its own
partitions, adds its children's answers to its own and returns the sum to
its parent. The driver thus receives one histogram per batch whatever the
number of workers, every link carries one histogram, and the depth is
log2(workers). The reduction tree is fixed, so sums are added in the same
order every run (deterministic models).

Two backends run that protocol:

- `InProcessBackend`: the `WorkerPartitions` objects live in this process
  (unit tests, debugging); same tree, same order of additions.
- `ActorBackend`: one Dask actor per worker. The driver calls the root actor;
  actors call their children with the worker's RPC (`actor_execute`)
  directly, so a lost child surfaces as an error naming it instead of a
  hang.
"""
import asyncio
import pickle
import time

import numpy as np

from ._partition import WorkerPartitions, combine


class WorkerLostError(RuntimeError):
    """A worker holding training partitions died or became unreachable during training.

    The model being trained is discarded: no partial or silently wrong model
    is returned.
    """

    def __init__(self, address, partitions, detail=""):
        self.address = address
        self.partitions = list(partitions)
        self.detail = detail
        super().__init__(address, self.partitions, detail)

    def __str__(self):
        msg = (f"Dask worker {self.address} holding training partitions {self.partitions} was lost during "
               f"training; the model was not built")
        return msg + (f" ({self.detail})" if self.detail else "")


def reduction_tree(n):
    """Nested ``(rank, [children])`` of a binary heap over ranks 0..n-1."""
    def node(r):
        return (r, [node(c) for c in (2 * r + 1, 2 * r + 2) if c < n])
    return node(0)


def payload_nbytes(obj):
    """Bytes of the arrays in `obj` plus 8 per scalar: what a message carries, without framing."""
    if obj is None:
        return 0
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, (list, tuple)):
        return sum(payload_nbytes(o) for o in obj)
    if isinstance(obj, dict):
        return sum(payload_nbytes(k) + payload_nbytes(v) for k, v in obj.items())
    if isinstance(obj, (int, float, bool, np.number)):
        return 8
    if isinstance(obj, str):
        return len(obj)
    if hasattr(obj, "__dict__"):
        return payload_nbytes(vars(obj))
    return len(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def serialized_nbytes(obj):
    """Bytes of `obj` as Dask serialises it for a message (frames, without the TCP framing)."""
    from distributed.protocol import serialize_bytelist

    return sum(memoryview(f).nbytes for f in serialize_bytelist(obj))


class TrafficCounter:
    """Bytes carried by the reduction tree, per direction.

    ``down``: commands, sent over every link of the tree (driver->root plus
    workers->children). ``up``: results, one per link (children->parents and
    root->driver). ``driver_in``/``driver_out``: the driver's share;
    ``seconds``: wall time the driver waited for batches. Sizes
    are payload estimates (`payload_nbytes`); with ``serialized=True`` the
    same counts are also kept for the messages as Dask serialises them
    (keys suffixed ``_serialized``; costs a serialisation per batch).
    """

    def __init__(self, serialized=False):
        self.serialized = serialized
        self.reset()

    def reset(self):
        self.counts = dict.fromkeys(("down", "up", "driver_in", "driver_out", "batches", "seconds"), 0)
        if self.serialized:
            self.counts.update(dict.fromkeys(("down_serialized", "up_serialized", "driver_in_serialized",
                                              "driver_out_serialized"), 0))

    def add(self, n_workers, commands, results, seconds=0.0):
        k = self.counts
        k["seconds"] += seconds
        sizes = [("", payload_nbytes(commands), payload_nbytes(results))]
        if self.serialized:
            sizes.append(("_serialized", serialized_nbytes(commands), serialized_nbytes(results)))
        k["batches"] += 1
        for suffix, c, r in sizes:
            k["down" + suffix] += c * n_workers
            k["up" + suffix] += r * n_workers
            k["driver_out" + suffix] += c
            k["driver_in" + suffix] += r

    def snapshot(self):
        return dict(self.counts)


class InProcessBackend:
    """The workers' objects in this process, reduced over the same tree."""

    def __init__(self, workers):
        self.workers = list(workers)
        self.tree = reduction_tree(len(self.workers))
        self.step = 0
        self.traffic = TrafficCounter()

    @property
    def n_workers(self):
        return len(self.workers)

    def _run(self, node, step, commands):
        rank, children = node
        out = self.workers[rank].run(step, commands)
        for child in children:
            res = self._run(child, step, commands)
            out = [combine(a, b) for a, b in zip(out, res)]
        return out

    def execute(self, commands):
        self.step += 1
        t0 = time.perf_counter()
        results = self._run(self.tree, self.step, commands)
        self.traffic.add(self.n_workers, commands, results, time.perf_counter() - t0)
        return results

    def close(self):
        self.workers = []


# -- Dask actors ------------------------------------------------------------------------------------------------
def _child_spec(node, addresses, keys, partitions):
    rank, children = node
    return (addresses[rank], keys[rank], partitions[rank], [_child_spec(c, addresses, keys, partitions)
                                                           for c in children])


async def _call_child(caller, spec, step, commands):
    """Run `tree_run` on the actor of `spec` through `caller`'s RPC pool (a Worker or a Client)."""
    from distributed.protocol import to_serialize

    address, key, parts, grandchildren = spec
    try:
        resp = await caller.rpc(address).actor_execute(
            function="tree_run", actor=key,
            args=[to_serialize(step), to_serialize(commands), to_serialize(grandchildren)], kwargs={})
    except OSError as exc:  # includes CommClosedError: the child's worker is gone
        return ("lost", WorkerLostError(address, parts, f"{type(exc).__name__}: {exc}"))
    if resp["status"] == "OK":
        return ("ok", resp["result"])
    return ("error", resp["exception"])


class TreeRunner:
    """Mixin of the actor class: run a batch here and in the subtree below."""

    def tree_run(self, step, commands, children):
        from distributed import get_worker

        pending = []
        if children:
            worker = get_worker()
            loop = worker.loop.asyncio_loop
            pending = [asyncio.run_coroutine_threadsafe(_call_child(worker, spec, step, commands), loop)
                       for spec in children]
        local_error = None
        try:
            out = self.run(step, commands)
        except Exception as exc:  # still collect the children so no call is left dangling
            local_error, out = exc, None
        for fut in pending:
            status, value = fut.result()
            if status != "ok":
                if local_error is None:
                    local_error = value
                continue
            if out is not None:
                out = [combine(a, b) for a, b in zip(out, value)]
        if local_error is not None:
            raise local_error
        return out


class WorkerActor(TreeRunner, WorkerPartitions):
    """The Dask actor: a worker's partitions plus the tree-reduction plumbing."""


class ActorBackend:
    """One `WorkerActor` per worker; the driver calls the root of the reduction tree."""

    def __init__(self, client, actors, addresses, partitions, actor_futures=()):
        self.client = client
        self.actors = list(actors)
        self._actor_futures = list(actor_futures)  # keep the actors alive while training
        self.addresses = list(addresses)
        self.partitions = [list(p) for p in partitions]
        keys = [a.key for a in self.actors]
        tree = reduction_tree(len(self.actors))
        self.children = [_child_spec(c, self.addresses, keys, self.partitions) for c in tree[1]]
        self._root_spec = (self.addresses[0], keys[0], self.partitions[0], self.children)
        self.step = 0
        self.traffic = TrafficCounter(serialized=self.measure_serialized)

    #: Also count the Dask-serialised size of every message (benchmarks).
    measure_serialized = False

    @property
    def n_workers(self):
        return len(self.actors)

    def execute(self, commands):
        self.step += 1
        t0 = time.perf_counter()
        # Straight to the root worker's RPC (not through the scheduler, as an Actor proxy may go).
        status, value = self.client.sync(_call_child, self.client, self._root_spec, self.step, commands)
        if status != "ok":
            raise value
        self.traffic.add(self.n_workers, commands, value, time.perf_counter() - t0)
        return value

    def close(self):
        """Release the actors (their workers free the partitions)."""
        self.actors = []
        self._actor_futures = []
