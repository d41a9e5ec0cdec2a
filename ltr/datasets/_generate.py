"""``make_ranking``: synthetic learning-to-rank data shaped like MSLR-WEB30K.

Generative model (all draws from one ``numpy.random.Generator`` seeded by
``random_state``, so the output is a pure function of the arguments):

1. **Queries.** Sizes are drawn from a gamma distribution with shape 2 and
   mean ``docs_per_query`` (MSLR-WEB30K: mean about 120, long right tail),
   or uniformly from a ``(low, high)`` range. Each query has a type
   (``navigational`` with probability 0.35), a relevance offset
   ``b_q ~ N(0, 0.6**2)`` (some queries have many relevant documents, some
   none) and an offset ``mu_q ~ N(0, 0.5**2 I)`` of its documents' latent
   factors.

2. **Documents.** ``L = 8`` latent relevance factors ``z = mu_q + e``,
   ``e ~ N(0, I)``. The noise-free utility is non-linear, with an
   interaction, thresholds and a query-type-dependent part::

       u = 0.9 z0 + 0.7 tanh(1.5 z1) + 0.5 z2 z3 + 0.6 [z4 > 0.8]
           - 0.4 [z5 < -1] + 0.3 sin(2 z6) + 0.2 z7
           + [navigational] (0.9 z1 - 0.6 z0) + b_q

3. **Labels.** ``g = u + label_noise * N(0, 1)`` is cut at global
   quantiles so that the label proportions equal ``label_mix``; the exact
   probability of each grade given the document is therefore
   ``Phi((t_{k+1} - u) / s) - Phi((t_k - u) / s)`` (returned in ``info``).

4. **Features** (columns shuffled, kinds returned in ``info``):

   * *informative*: noisy monotone views of one latent factor each, in
     five styles seen in LETOR data -- raw score with a per-query offset
     (unnormalised BM25-like), heavy-tailed integer counts, per-query
     min-max normalised values (LETOR "QueryLevelNorm"), squashed [0, 1]
     values with 3 decimals, coarse quantised values;
   * *redundant*: random linear combinations of 2-3 informative features;
   * *query*: constant within a query (noisy query type, length, frequency,
     a noisy view of ``b_q``);
   * *noise*: independent of relevance (normal, counts, uniform, rare
     binary flags), some with per-query offsets.

5. **Missing values.** ``missing_rate`` of all cells become NaN, spread over
   an eighth of the non-query features; for half of those columns a value
   is more often missing when the document's utility is low (missing not
   at random, as for link-based features of obscure pages).

The signal is learnable but far from trivial. Measured NDCG@10 on held-out
queries (gains ``2**y - 1``): 2,000 training queries of the default size,
LightGBM LambdaMART (300 trees, learning rate 0.05) 0.62, a random order
0.20, the noise-free utility ``u`` 0.77; with 40 documents per query and 60
features, 0.61 / 0.34 / 0.81 (the slow test checks such bounds). For
comparison, published LambdaMART results on MSLR-WEB30K are around 0.5.

Generation is vectorised over blocks of whole queries (about 16k rows),
which run on threads with one random stream per block, so the output does
not depend on the thread count.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import get_num_threads
from scipy.special import ndtr
from sklearn.utils import Bunch

from .._random import resolve_seed

#: Default label proportions, grades 0..4: roughly MSLR-WEB30K's (about half
#: irrelevant, grades 3 and 4 rare). Not computed from the files here.
MSLR_LABEL_MIX = (0.51, 0.32, 0.135, 0.025, 0.01)

_N_LATENT = 8
_NAV_PROB = 0.35
_Q_EFFECT_SD = 0.6
_Q_LATENT_SD = 0.5
_SIZE_SHAPE = 2.0


def _query_sizes(rng, n_queries, n_samples, docs_per_query):
    """Documents per query (int64, each >= 1), summing to n_samples if given."""
    if isinstance(docs_per_query, (tuple, list)):
        if len(docs_per_query) != 2:
            raise ValueError(f"docs_per_query must be an int or a (low, high) pair, got {docs_per_query!r}")
        low, high = (int(v) for v in docs_per_query)
        if not 1 <= low <= high:
            raise ValueError(f"docs_per_query range must satisfy 1 <= low <= high, got {docs_per_query!r}")
        sizes = rng.integers(low, high + 1, size=n_queries).astype(np.int64)
    else:
        mean = float(docs_per_query)
        if not mean >= 1:
            raise ValueError(f"docs_per_query must be >= 1, got {docs_per_query!r}")
        if n_samples is not None:
            mean = n_samples / n_queries
        draws = rng.gamma(_SIZE_SHAPE, mean / _SIZE_SHAPE, size=n_queries)
        sizes = np.maximum(1, np.rint(draws)).astype(np.int64)
    if n_samples is not None:
        if n_samples < n_queries:
            raise ValueError(f"n_samples={n_samples} is smaller than n_queries={n_queries}")
        sizes = np.maximum(1, np.floor(sizes * (n_samples / sizes.sum()))).astype(np.int64)
        diff = int(n_samples - sizes.sum())
        while diff != 0:
            if diff > 0:
                idx = rng.integers(0, n_queries, size=diff)
                np.add.at(sizes, idx, 1)
            else:
                candidates = np.flatnonzero(sizes > 1)
                idx = rng.choice(candidates, size=min(-diff, candidates.size), replace=False)
                sizes[idx] -= 1
            diff = int(n_samples - sizes.sum())
    return sizes


def _per_query_minmax(x, starts, sizes):
    """Min-max scale ``x`` within each query (constant queries become 0)."""
    lo = np.minimum.reduceat(x, starts)
    hi = np.maximum.reduceat(x, starts)
    span = hi - lo
    span[span == 0] = 1
    return (x - np.repeat(lo, sizes)) / np.repeat(span, sizes)


def make_ranking(n_queries=None, n_samples=None, *, docs_per_query=120, n_features=136, n_informative=None,
                 n_redundant=None, n_query_features=None, label_mix=MSLR_LABEL_MIX, label_noise=1.0,
                 missing_rate=0.01, dtype=np.float32, return_info=False, random_state=None):
    """Generate an MSLR-shaped learning-to-rank data set.

    Parameters
    ----------
    n_queries : int, optional
        Number of queries. Default 1000, or ``n_samples / docs_per_query``
        when only ``n_samples`` is given.
    n_samples : int, optional
        Exact number of rows; query sizes are rescaled to sum to it.
    docs_per_query : int or (int, int), default=120
        Mean query size (sizes vary: gamma with shape 2, at least 1) or an
        inclusive ``(low, high)`` range for uniform sizes.
    n_features : int, default=136
        Number of columns.
    n_informative, n_redundant, n_query_features : int, optional
        Column counts by kind; defaults are 35 %, 20 % and 3 % (at least 1)
        of ``n_features``; the rest is noise.
    label_mix : sequence of float, default=MSLR_LABEL_MIX
        Proportion of each grade 0..K-1 (normalised to sum to 1).
    label_noise : float, default=1.0
        Standard deviation of the noise added to the utility before it is
        cut into grades. 0 makes labels a deterministic function of the
        latent factors (still not of the observed features, which are noisy).
    missing_rate : float, default=0.01
        Fraction of all cells set to NaN (see the module docstring). 0 for
        a complete matrix.
    dtype : {np.float32, np.float64}, default=np.float32
        Type of X. 1M x 136 float32 is 544 MB.
    return_info : bool, default=False
        Also return a Bunch with the generating quantities.
    random_state : int, RandomState, Generator or None
        Seed; equal seeds give identical output.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,), int32
        Grades 0..K-1.
    qid : ndarray of shape (n_samples,), int64
        Query ids 1..n_queries; rows of a query are contiguous.
    info : Bunch, only if ``return_info``
        ``utility`` (float64, noise-free ``u``), ``grade_proba`` (float64,
        (n_samples, K), exact ``P(y = k | document)``), ``expected_gain``
        (``sum_k (2**k - 1) P(y = k)``), ``position`` (int32, 1-based rank of
        the document under a logging ranker that orders by ``u`` plus
        N(0, 1) noise; useful for click simulation), ``thresholds`` (the
        K-1 cut points), ``query_effect`` (``b_q``), ``navigational``
        (bool per query), ``feature_kind`` (str per column),
        ``feature_latent`` (latent factor of each informative column, -1
        otherwise), ``label_noise``.
    """
    if n_queries is None:
        n_queries = 1000 if n_samples is None else max(1, int(round(n_samples / _mean_size(docs_per_query))))
    n_queries = int(n_queries)
    if n_queries < 1:
        raise ValueError(f"n_queries must be >= 1, got {n_queries}")
    if n_samples is not None:
        n_samples = int(n_samples)
    n_features = int(n_features)
    if n_features < 1:
        raise ValueError(f"n_features must be >= 1, got {n_features}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    mix = np.asarray(label_mix, dtype=np.float64)
    if mix.ndim != 1 or mix.size < 2 or np.any(mix < 0) or mix.sum() <= 0:
        raise ValueError(f"label_mix must hold at least two non-negative proportions, got {label_mix!r}")
    mix = mix / mix.sum()
    if not 0 <= missing_rate < 1:
        raise ValueError(f"missing_rate must be in [0, 1), got {missing_rate!r}")
    if label_noise < 0:
        raise ValueError(f"label_noise must be >= 0, got {label_noise!r}")
    n_inf = max(1, round(0.35 * n_features)) if n_informative is None else int(n_informative)
    n_red = round(0.20 * n_features) if n_redundant is None else int(n_redundant)
    n_qf = max(1, round(0.03 * n_features)) if n_query_features is None else int(n_query_features)
    if n_features < 3:
        n_inf, n_red, n_qf = n_features, 0, 0
    if min(n_inf, n_red, n_qf) < 0 or n_inf + n_red + n_qf > n_features or n_inf < 1:
        raise ValueError(
            f"need 1 <= n_informative and n_informative + n_redundant + n_query_features <= n_features, got "
            f"{n_inf} + {n_red} + {n_qf} > {n_features}"
        )
    n_noise = n_features - n_inf - n_red - n_qf

    seed = resolve_seed(random_state)
    rng = np.random.default_rng([seed, 0])
    sizes = _query_sizes(rng, n_queries, n_samples, docs_per_query)
    n = int(sizes.sum())
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    qidx = np.repeat(np.arange(n_queries), sizes)

    # Query level.
    navigational = rng.random(n_queries) < _NAV_PROB
    b_q = rng.normal(0.0, _Q_EFFECT_SD, n_queries)
    mu_q = rng.normal(0.0, _Q_LATENT_SD, (n_queries, _N_LATENT)).astype(np.float32)

    # Latent factors, (L, n) so that each factor is contiguous.
    Z = rng.standard_normal((_N_LATENT, n), dtype=np.float32)
    Z += mu_q.T[:, qidx]
    u = _utility(Z, navigational[qidx], b_q[qidx])

    # Labels: global quantile cuts of the noisy utility.
    g = u + label_noise * rng.standard_normal(n)
    cum = np.cumsum(mix)[:-1]
    thresholds = np.quantile(g, cum) if n > 1 else np.zeros(cum.size)
    y = np.searchsorted(thresholds, g, side="right").astype(np.int32)
    del g

    specs = _column_specs(rng, n_inf, n_red, n_qf, n_noise, n_queries, navigational, b_q)
    kinds = np.array([sp["kind"] for sp in specs], dtype=object)
    latent_of = np.array([sp.get("latent", -1) for sp in specs], dtype=np.int64)
    miss_p = np.zeros(n_features)
    mnar = np.zeros(n_features, dtype=bool)
    if missing_rate > 0:
        candidates = np.flatnonzero(kinds != "query")
        n_miss_cols = max(1, len(candidates) // 8)
        miss_cols = rng.choice(candidates, size=n_miss_cols, replace=False)
        miss_p[miss_cols] = min(0.95, missing_rate * n_features / n_miss_cols)
        mnar[miss_cols[1::2]] = True
    # Output column j holds generated column perm[j], so that kinds are not in blocks.
    perm = rng.permutation(n_features)
    slot_of = np.empty(n_features, dtype=np.int64)
    slot_of[perm] = np.arange(n_features)
    # Relative chance of a missing value in the "not at random" columns: high
    # when the utility is low, mean 1 (n >= n_queries >= 1 here).
    low_utility = 1.0 / (1.0 + np.exp(u - np.median(u)))
    low_utility /= low_utility.mean()

    X = np.empty((n, n_features), dtype=dtype)
    bounds = _block_bounds(starts, sizes, n)
    ctx = dict(X=X, Z=Z, qidx=qidx, sizes=sizes, starts=starts, specs=specs, slot_of=slot_of,
               miss_p=miss_p, mnar=mnar, low_utility=low_utility, seed=seed, dtype=dtype, scales=None)
    # Block 0 first: it fixes the scales of the informative columns that the
    # redundant columns combine; the other blocks then run on threads, each
    # with its own random stream, so the result does not depend on threading.
    if len(bounds) > 1:
        _fill_block(ctx, bounds, 0)
        n_workers = max(1, min(len(bounds) - 1, get_num_threads()))
        if n_workers == 1:
            for blk in range(1, len(bounds) - 1):
                _fill_block(ctx, bounds, blk)
        else:
            with ThreadPoolExecutor(n_workers) as pool:
                list(pool.map(lambda blk: _fill_block(ctx, bounds, blk), range(1, len(bounds) - 1)))
    kinds = kinds[perm]
    latent_of = latent_of[perm]
    qid = (qidx + 1).astype(np.int64)
    if not return_info:
        return X, y, qid

    edges = np.concatenate(([-np.inf], thresholds, [np.inf]))
    if label_noise > 0:
        cdf = ndtr((edges[None, :] - u[:, None]) / label_noise)
        grade_proba = np.diff(cdf, axis=1)
    else:
        grade_proba = np.zeros((n, mix.size))
        grade_proba[np.arange(n), np.searchsorted(thresholds, u, side="right")] = 1.0
    gains = 2.0 ** np.arange(mix.size) - 1.0
    logged = u + np.random.default_rng([seed, 2]).standard_normal(n)
    order = np.lexsort((-logged, qidx))
    position = np.empty(n, dtype=np.int32)
    position[order] = (np.arange(n) - np.repeat(starts, sizes)).astype(np.int32) + 1
    info = Bunch(
        utility=u,
        grade_proba=grade_proba,
        expected_gain=grade_proba @ gains,
        position=position,
        thresholds=thresholds,
        query_effect=b_q,
        navigational=navigational,
        feature_kind=kinds.astype(str),
        feature_latent=latent_of,
        label_noise=float(label_noise),
    )
    return X, y, qid, info


def _mean_size(docs_per_query):
    """Mean query size implied by ``docs_per_query``."""
    if isinstance(docs_per_query, (tuple, list)):
        return (float(docs_per_query[0]) + float(docs_per_query[1])) / 2
    return float(docs_per_query)


#: Rows per generation block (whole queries, so per-query transforms stay
#: inside a block). A constant: the output must not depend on the machine.
_BLOCK_ROWS = 16384


def _block_bounds(starts, sizes, n):
    """Row boundaries of blocks made of whole queries, about _BLOCK_ROWS each."""
    if n == 0:
        return np.array([0], dtype=np.int64)
    q_end = starts + sizes
    cuts = [0]
    target = _BLOCK_ROWS
    for e in q_end:
        if e >= target or e == n:
            cuts.append(int(e))
            target = e + _BLOCK_ROWS
    return np.array(cuts, dtype=np.int64)


def _utility(Z, nav, b):
    """Noise-free utility u (float64) from the latent factors; see the module docstring."""
    z = [Z[l].astype(np.float64) for l in range(_N_LATENT)]
    return (
        0.9 * z[0] + 0.7 * np.tanh(1.5 * z[1]) + 0.5 * z[2] * z[3] + 0.6 * (z[4] > 0.8)
        - 0.4 * (z[5] < -1.0) + 0.3 * np.sin(2.0 * z[6]) + 0.2 * z[7]
        + nav * (0.9 * z[1] - 0.6 * z[0]) + b
    )


def _column_specs(rng, n_inf, n_red, n_qf, n_noise, n_queries, navigational, b_q):
    """Parameters of every generated column (drawn once, before any block)."""
    specs = []
    for i in range(n_inf):
        spec = {"kind": "informative", "latent": i % _N_LATENT, "style": (i // _N_LATENT) % 5,
                "noise_sd": 0.5 + 1.5 * rng.random()}
        if spec["style"] == 0:
            spec["scale"] = rng.lognormal(0.0, 0.3, n_queries).astype(np.float32)
            spec["offset"] = rng.normal(0.0, 2.0, n_queries).astype(np.float32)
        specs.append(spec)
    for _ in range(n_red):
        k = int(rng.integers(2, 4)) if n_inf >= 2 else 1
        parents = rng.choice(n_inf, size=min(k, n_inf), replace=False)
        specs.append({"kind": "redundant", "parents": parents, "weights": rng.normal(0.0, 1.0, parents.size)})
    for i in range(n_qf):
        style = i % 4
        if style == 0:
            v = navigational + rng.normal(0.0, 0.4, n_queries)
        elif style == 1:
            v = 1 + rng.poisson(2.0 + navigational.astype(float), n_queries)
        elif style == 2:
            v = np.round(rng.lognormal(3.0, 1.5, n_queries))
        else:
            v = b_q + rng.normal(0.0, 0.6, n_queries)
        specs.append({"kind": "query", "values": v.astype(np.float32)})
    for i in range(n_noise):
        spec = {"kind": "noise", "style": i % 5}
        if spec["style"] == 1:
            spec["lam"] = rng.uniform(0.5, 20.0)
        elif spec["style"] == 3:
            spec["p"] = rng.uniform(0.02, 0.2)
        elif spec["style"] == 4:
            spec["offset"] = rng.normal(0.0, 2.0, n_queries).astype(np.float32)
        specs.append(spec)
    return specs


def _fill_block(ctx, bounds, blk):
    """Generate rows ``bounds[blk]:bounds[blk+1]`` of X (all columns)."""
    r0, r1 = int(bounds[blk]), int(bounds[blk + 1])
    m = r1 - r0
    specs = ctx["specs"]
    n_features = len(specs)
    rng = np.random.default_rng([ctx["seed"], 1, blk])
    qidx = ctx["qidx"][r0:r1]
    q_lo = int(qidx[0])
    q_hi = int(qidx[-1]) + 1
    sizes = ctx["sizes"][q_lo:q_hi]
    starts = ctx["starts"][q_lo:q_hi] - r0
    Z = ctx["Z"][:, r0:r1]
    T = np.empty((n_features, m), dtype=ctx["dtype"])
    slot_of = ctx["slot_of"]
    inf_rows = {}
    for c, spec in enumerate(specs):
        kind = spec["kind"]
        if kind == "informative":
            x = Z[spec["latent"]] + np.float32(spec["noise_sd"]) * rng.standard_normal(m, dtype=np.float32)
            style = spec["style"]
            if style == 0:  # raw score with a per-query scale and offset
                x = 5.0 + x * spec["scale"][qidx] + spec["offset"][qidx]
            elif style == 1:  # heavy-tailed integer counts
                x = np.floor(np.exp(np.clip(0.8 * x + 1.0, -20, 20)))
            elif style == 2:  # per-query min-max normalised
                x = _per_query_minmax(x, starts, sizes)
            elif style == 3:  # squashed to [0, 1], 3 decimals
                x = np.round(1.0 / (1.0 + np.exp(-x)), 3)
            else:  # coarse quantised
                x = np.round(x * 4.0) / 4.0
            inf_rows[c] = x
        elif kind == "redundant":
            if ctx["scales"] is None:
                # Block 0 fixes the scales of the informative columns.
                sd = np.array([inf_rows[p].std() if m > 1 else 1.0 for p in range(len(inf_rows))])
                sd[~(sd > 0)] = 1.0
                ctx["scales"] = sd
            x = np.zeros(m, dtype=np.float32)
            for p, w in zip(spec["parents"], spec["weights"]):
                x += np.float32(w / ctx["scales"][p]) * inf_rows[p]
            x += np.float32(0.1) * rng.standard_normal(m, dtype=np.float32)
        elif kind == "query":
            x = spec["values"][qidx]
        else:
            style = spec["style"]
            if style == 0:
                x = rng.standard_normal(m, dtype=np.float32)
            elif style == 1:
                x = rng.poisson(spec["lam"], m)
            elif style == 2:
                x = rng.random(m, dtype=np.float32)
            elif style == 3:
                x = rng.random(m, dtype=np.float32) < spec["p"]
            else:
                x = rng.standard_normal(m, dtype=np.float32) + spec["offset"][qidx]
        row = T[slot_of[c]]
        row[:] = x
        p = ctx["miss_p"][c]
        if p > 0:
            if ctx["mnar"][c]:
                p = np.minimum(1.0, p * ctx["low_utility"][r0:r1])
            row[rng.random(m) < p] = np.nan
    ctx["X"][r0:r1] = T.T
