"""The ``ltr`` command line (also ``python -m ltr``).

Commands::

    ltr fit [TRAIN] [--valid FILE] [--test FILE] [--objective NAME] [--set KEY=VALUE ...]
            [--config FILE.toml] [-o MODEL] [--force] [--quiet]
    ltr predict MODEL DATA -o SCORES [--force]
    ltr evaluate MODEL DATA [--metric ndcg@10 map mrr ...] [--json]
    ltr info MODEL [--json]
    ltr export MODEL -o FILE.txt [--force]          # LightGBM text model

``ltr fit`` without TRAIN trains on the sample bundled with the package and
prints its test NDCG@10; it writes a model only when ``-o`` is given.

Data files are svmlight / LETOR text (``label qid:Q 1:v 2:v ...``, optionally
``.gz``/``.bz2``/``.xz``), ``.npz`` archives (arrays ``X``, ``y``, ``qid``,
optionally ``position`` and ``feature_names``) or Parquet tables (a ``label``
column, a ``qid`` column, optionally a ``position`` column, every other column
a feature). ``position`` (1-based display rank) feeds the objectives that learn
from clicks (``--objective dla``, ``ipw``, ``unbiased_lambdamart``).

Conventions: results go to stdout, progress and notes to stderr. Bad input
gives one line ``ltr: error: <what is wrong>`` on stderr and exit status 2
(command-line usage: unknown option or parameter, bad value) or 1 (anything
else: missing or malformed file, damaged model, output file exists);
``--debug`` adds the traceback. Nothing is written except the files named
with ``-o``, and an existing file is replaced only with ``--force``.
"""
import argparse
import contextlib
import difflib
import json
import os
import sys
import time
import traceback
import warnings

from ._version import __version__
from .callbacks import Callback

PROG = "ltr"

#: LightGBM names users type, and the ltr parameter that means the same thing.
LIGHTGBM_ALIASES = {
    "num_iterations": "n_estimators",
    "num_iteration": "n_estimators",
    "num_boost_round": "n_estimators",
    "num_trees": "n_estimators",
    "eta": "learning_rate",
    "shrinkage_rate": "learning_rate",
    "min_data_in_leaf": "min_child_samples",
    "min_sum_hessian_in_leaf": "min_child_weight",
    "min_gain_to_split": "min_split_gain",
    "lambda_l1": "reg_alpha",
    "lambda_l2": "reg_lambda",
    "bagging_fraction": "subsample",
    "bagging_freq": "subsample_freq",
    "feature_fraction": "colsample_bytree",
    "seed": "random_state",
    "num_threads": "n_jobs",
    "early_stopping_round": "early_stopping_rounds",
    "early_stopping": "early_stopping_rounds",
}

#: The command line fixes the seed so that two runs give the same model
#: (the estimator's default, None, draws a fresh one).
CLI_DEFAULT_RANDOM_STATE = 0


# ----------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------
class CommandError(Exception):
    """A problem with the user's input, reported as one line; exit status 1."""

    exit_code = 1


class UsageError(CommandError):
    """A problem with the command line itself; exit status 2."""

    exit_code = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line raised to `main` (no usage dump, no sys.exit)."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _one_line(text):
    return " ".join(str(text).split())


def _describe(exc):
    """One line naming the problem of an exception."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]!r}" if exc.args else "missing key"
    text = _one_line(exc)
    return text or type(exc).__name__


def _exit_code(exc):
    """2 for usage errors (including bad parameter values, which scikit-learn reports), else 1."""
    if isinstance(exc, CommandError):
        return exc.exit_code
    from sklearn.utils._param_validation import InvalidParameterError

    return 2 if isinstance(exc, InvalidParameterError) else 1


@contextlib.contextmanager
def _one_line_warnings():
    """Show warnings as ``ltr: warning: ...`` lines on stderr (no source line dumps)."""
    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{PROG}: warning: {_one_line(message)}", file=sys.stderr)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


# ----------------------------------------------------------------------------
# Messages and progress
# ----------------------------------------------------------------------------
class _Console:
    """Where notes go: stderr, unless --quiet.

    With ``hold=True`` notes wait until `release` (called when training
    starts), so that input rejected before then gets its one error line and
    nothing else.
    """

    def __init__(self, quiet=False, hold=False):
        self.quiet = quiet
        self.pending = [] if hold else None

    def note(self, text):
        if self.quiet:
            return
        if self.pending is not None:
            self.pending.append(text)
        else:
            print(f"[{PROG}] {text}", file=sys.stderr, flush=True)

    def release(self):
        pending, self.pending = self.pending or [], None
        for text in pending:
            self.note(text)


def _format_evaluation(evaluation):
    parts = []
    for data, metrics in evaluation.items():
        # the command line passes at most one eval set, the --valid file
        name = "valid" if len(evaluation) == 1 else data
        for metric, value in metrics.items():
            parts.append(f"{name} {metric} {value:.4f}")
    return "  ".join(parts)


class ProgressCallback(Callback):
    """A training callback showing progress on `stream`.

    mode 'bar' redraws one line (for a terminal), 'lines' prints a plain line
    every tenth of the run (for a log file). `console` holds the notes
    printed once training starts.
    """

    width = 28

    def __init__(self, stream, mode, console):
        if mode not in ("bar", "lines"):
            raise ValueError(f"mode must be 'bar' or 'lines', got {mode!r}")
        self.stream, self.mode, self.console = stream, mode, console
        self.total = 0
        self.done = 0
        self.start = None
        self.last_draw = 0.0
        self.last_text = ""
        self.drawn = False

    def before_training(self, env):
        self.console.release()
        self.total = env.end_iteration - env.begin_iteration
        self.start = time.perf_counter()
        if self.mode == "bar":
            self._draw(0, "")
        else:
            print(f"[{PROG}] training {self.total} trees", file=self.stream, flush=True)

    def after_iteration(self, env):
        self.done = env.iteration + 1 - env.begin_iteration
        text = _format_evaluation(env.evaluation)
        self.last_text = text
        now = time.perf_counter()
        if self.mode == "bar":
            if now - self.last_draw >= 0.1 or self.done == self.total:
                self._draw(self.done, text)
        else:
            period = max(1, self.total // 10)
            if self.done % period == 0 or self.done == self.total or self.done == 1:
                parts = [f"[{PROG}] tree {self.done}/{self.total}", text, f"({now - self.start:.1f}s)"]
                print("  ".join(p for p in parts if p), file=self.stream, flush=True)
        return False

    def _draw(self, done, text):
        frac = done / self.total if self.total else 1.0
        filled = int(round(frac * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self.start
        clock = f"{elapsed:.1f}s"
        if 0 < done < self.total:
            clock += f" (ETA {elapsed / done * (self.total - done):.0f}s)"
        line = "  ".join(p for p in (f"\r[{bar}] {done}/{self.total}", text, clock) if p)
        self.stream.write(line + "\033[K")  # erase what a longer previous line left
        self.stream.flush()
        self.last_draw = time.perf_counter()
        self.drawn = True

    def close(self):
        """End the bar's line (training may stop before the last tree)."""
        if self.mode == "bar" and self.drawn:
            self._draw(self.done, self.last_text)
            self.stream.write("\n")
            self.stream.flush()


# ----------------------------------------------------------------------------
# Parameters: --set, --config
# ----------------------------------------------------------------------------
def _estimator_param_names():
    from .ranker import LambdaRanker

    return sorted(LambdaRanker().get_params(deep=False))


def cast_value(text):
    """Python value of a ``--set`` value.

    ``true``/``false`` -> bool, ``none``/``null``/empty -> None, integers,
    floats (``1e-3``, ``inf``), JSON lists/objects (``[1, 3]``,
    ``{"permutations": 20}``), comma-separated lists (``1,3,5``); anything
    else stays a string (objective names, ...).
    """
    t = text.strip()
    low = t.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null", ""):
        return None
    if t[:1] in "[{":
        try:
            return json.loads(t)
        except json.JSONDecodeError as exc:
            raise UsageError(f"cannot read {text!r} as a JSON list or object: {exc.msg}") from None
    if "," in t:
        return [cast_value(part) for part in t.split(",") if part.strip()]
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return t


def _unknown_key_message(key, known, where):
    hint = ""
    alias = LIGHTGBM_ALIASES.get(key.lower())
    if alias:
        hint = f"; did you mean {alias!r} (LightGBM's {key})?"
    else:
        close = difflib.get_close_matches(key, known + list(LIGHTGBM_ALIASES), n=3, cutoff=0.6)
        close = list(dict.fromkeys(LIGHTGBM_ALIASES.get(c, c) for c in close))
        if close:
            hint = "; did you mean " + " or ".join(repr(c) for c in close) + "?"
        else:
            hint = "; known parameters: " + ", ".join(known)
    return f"unknown parameter {key!r} in {where}{hint}"


def _normalise_params(raw, where, known):
    """Check names (dotted ``objective_params.NAME`` allowed) and shape values for the estimator."""
    out = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key:
            raise UsageError(f"bad parameter name {key!r} in {where}")
        if key.startswith("objective_params."):
            sub = key.split(".", 1)[1]
            if not sub:
                raise UsageError(f"empty name after 'objective_params.' in {where}")
            params = out.setdefault("objective_params", {})
            if not isinstance(params, dict):
                raise UsageError(f"objective_params is not a table in {where}")
            params[sub] = value
            continue
        if key not in known:
            raise UsageError(_unknown_key_message(key, known, where))
        if key == "objective_params":
            if value is not None and not isinstance(value, dict):
                raise UsageError(f"objective_params must be a table / JSON object in {where}, got {value!r}")
            if isinstance(value, dict):
                out.setdefault("objective_params", {}).update(value)
                continue
        if key == "eval_at" and isinstance(value, list):
            value = tuple(value)
        out[key] = value
    return out


def parse_set_options(items, known):
    """``['num_leaves=63', 'eval_at=1,3,10']`` -> ``{'num_leaves': 63, 'eval_at': (1, 3, 10)}``."""
    raw = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set expects KEY=VALUE, got {item!r} (give data files before --set, "
                             "or repeat --set for every setting)")
        raw[key] = cast_value(value)
    return _normalise_params(raw, "--set", known)


def read_config(path, known):
    """Parameters from a TOML file: top-level ``key = value`` pairs and an ``[objective_params]`` table."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise CommandError("reading --config needs Python 3.11 or the 'tomli' package") from None
    if not os.path.isfile(path):
        raise CommandError(f"config file {path} does not exist")
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise CommandError(f"config file {path} is not valid TOML: {_one_line(exc)}") from None
    except UnicodeDecodeError:
        raise CommandError(f"config file {path} is not UTF-8 text") from None
    for key, value in data.items():
        if isinstance(value, dict) and key != "objective_params":
            raise UsageError(f"config file {path}: unexpected table [{key}]; only [objective_params] is allowed")
    return _normalise_params(data, f"config file {path}", known)


def build_params(args):
    """Estimator parameters: CLI defaults < config file < --set / --objective."""
    known = _estimator_param_names()
    params = {"random_state": CLI_DEFAULT_RANDOM_STATE}
    if args.config:
        params.update(read_config(args.config, known))
    from_set = parse_set_options(args.set, known)
    if args.objective is not None:
        if "objective" in from_set and from_set["objective"] != args.objective:
            raise UsageError(f"--objective {args.objective} contradicts --set objective={from_set['objective']}")
        from_set["objective"] = args.objective
    if "objective_params" in from_set and isinstance(params.get("objective_params"), dict):
        from_set["objective_params"] = {**params["objective_params"], **from_set["objective_params"]}
    params.update(from_set)
    return params


# ----------------------------------------------------------------------------
# Data files
# ----------------------------------------------------------------------------
class Data:
    """Rows read from a file: X, labels y, query ids, feature names, display positions (each may be None)."""

    def __init__(self, path, X, y, qid, feature_names=None, position=None):
        self.path, self.X, self.y, self.qid, self.feature_names = path, X, y, qid, feature_names
        self.position = position

    @property
    def n_queries(self):
        import numpy as np

        return 0 if self.qid is None else int(np.unique(self.qid).size)

    def describe(self):
        q = f", {self.n_queries} queries" if self.qid is not None else ", no query ids"
        return f"{self.X.shape[0]} rows{q}, {self.X.shape[1]} features"


_LABEL_COLUMNS = ("label", "y", "relevance", "target")
_QID_COLUMNS = ("qid", "query_id", "query")


def _read_npz(path, n_features):
    import numpy as np

    from ._validation import FeatureTypeError, LabelError, as_numeric_1d, check_n_entries, check_qid, check_shape

    try:
        with np.load(path, allow_pickle=False) as z:  # never unpickle: a data file cannot run code
            arrays = {k: z[k] for k in z.files}
    except ValueError as exc:
        raise CommandError(f"{path}: cannot read the .npz archive ({_one_line(exc)})") from None
    if "X" not in arrays:
        raise CommandError(f"{path}: the .npz archive has no array 'X' (it has {sorted(arrays)})")
    X = np.asarray(arrays["X"])
    check_shape(X.shape, f"{path}: X", purpose="ltr")
    if X.dtype.kind not in "biuf":
        raise FeatureTypeError(f"{path}: X must hold numbers, got dtype {X.dtype}")
    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    y = next((arrays[k] for k in _LABEL_COLUMNS if k in arrays), None)
    if y is not None:
        y = as_numeric_1d(y, f"{path}: labels", error=LabelError)
        check_n_entries(y.shape[0], n, f"{path}: labels", item="label", error=LabelError)
    qid = next((arrays[k] for k in _QID_COLUMNS if k in arrays), None)
    if qid is not None:
        qid = check_qid(qid, n, name=f"{path}: qid")
    position = arrays.get("position")
    if position is not None:  # its values are checked where it is used (fit)
        position = np.asarray(position).ravel()
        check_n_entries(position.shape[0], n, f"{path}: position", item="position")
    names = arrays.get("feature_names")
    return Data(path, X, y, qid, None if names is None else [str(n) for n in names], position)


def _read_parquet(path, feature_names):
    import numpy as np

    from ._validation import LabelError, as_numeric_1d, check_frame_columns, check_qid

    try:
        import pandas as pd

        frame = pd.read_parquet(path)
    except ImportError as exc:
        raise CommandError(f"reading {path} needs pyarrow (pip install pyarrow): {_one_line(exc)}") from None
    except (ValueError, OSError) as exc:
        raise CommandError(f"{path}: cannot read the Parquet file ({_describe(exc)})") from None
    cols = [str(c) for c in frame.columns]
    frame.columns = cols
    label = next((c for c in _LABEL_COLUMNS if c in cols), None)
    qid_col = next((c for c in _QID_COLUMNS if c in cols), None)
    pos_col = "position" if "position" in cols else None
    if feature_names is not None:
        missing = [c for c in feature_names if c not in cols]
        if missing:
            raise CommandError(f"{path}: the model's feature {missing[0]!r} is not a column of the file "
                               f"({len(missing)} missing)")
        features = list(feature_names)
    else:
        features = [c for c in cols if c not in (label, qid_col, pos_col)]
    check_frame_columns(frame[features], path)
    X = np.ascontiguousarray(frame[features].to_numpy(dtype=np.float64, na_value=np.nan))
    y = None if label is None else as_numeric_1d(frame[label].to_numpy(), f"{path}: label column {label!r}",
                                                  error=LabelError)
    qid = None if qid_col is None else check_qid(frame[qid_col].to_numpy(), len(frame), name=f"{path}: {qid_col!r}")
    position = None if pos_col is None else frame[pos_col].to_numpy()
    return Data(path, X, y, qid, features, position)


def read_data(path, *, n_features=None, feature_names=None, what="data"):
    """Read a data file by its suffix (see the module docstring)."""
    import numpy as np

    from ._validation import check_n_features, check_shape

    if path == "-" or not os.path.exists(path):
        raise CommandError(f"{what} file {path} does not exist")
    if os.path.isdir(path):
        raise CommandError(f"{what} file {path} is a directory")
    lower = path.lower()
    if lower.endswith(".npz"):
        data = _read_npz(path, n_features)
    elif lower.endswith((".parquet", ".pq")):
        data = _read_parquet(path, feature_names)
    else:
        from .datasets import load_svmlight

        try:
            X, y, qid = load_svmlight(path, dtype=np.float64, dense=True)
        except ValueError as exc:
            msg = _one_line(exc)
            raise CommandError(msg if path in msg else f"{path}: {msg}") from None
        data = Data(path, X, y, qid)
    if data.X.shape[0] == 0:
        check_shape(data.X.shape, f"{what} file {path}", purpose="ltr")
    if n_features is not None:
        have = data.X.shape[1]
        if have > n_features or (have < n_features and lower.endswith((".npz", ".parquet", ".pq"))):
            check_n_features(have, n_features, f"{what} file {path}", owner="the model")
        if have < n_features:
            # svmlight leaves trailing zero features out: widen with zeros
            X = np.zeros((data.X.shape[0], n_features), dtype=np.float64)
            X[:, :have] = data.X
            data.X = X
    return data


def _labels(data, what):
    """The labels of `data`, finite and one per row (the objective checks its own rule at fit)."""
    from ._validation import check_labels

    if data.y is None:
        raise CommandError(f"{what} file {data.path} has no labels (a 'label' column or array)")
    return check_labels(data.y, n_samples=data.X.shape[0], name=f"{what} file {data.path}: labels",
                        what=f"{what} file {data.path}")


# ----------------------------------------------------------------------------
# Output files
# ----------------------------------------------------------------------------
def check_output(path, force, what="output"):
    """Fail early (before any work) when `path` cannot or must not be written (the rule of `check_output_path`)."""
    if path == "-":
        return
    from ._validation import check_output_path

    try:
        check_output_path(path, overwrite=force, what=f"{what} file", flag="--force")
    except OSError as exc:
        raise CommandError(str(exc)) from None


def _write_atomic(path, write):
    """Write through a temporary file in the same folder, then rename (no half-written outputs)."""
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".ltr-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _load_model(path):
    from .ranker import LambdaRanker

    try:  # missing file, directory, damaged or foreign content: ltr._validation.read_model_json says which
        return LambdaRanker.load_model(path)
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from None


# ----------------------------------------------------------------------------
# Commands
# ----------------------------------------------------------------------------
def _sample_splits():
    """(train, test) `Data` of the sample bundled with the package."""
    import numpy as np

    from .datasets import load_sample

    (Xtr, ytr, qtr), (Xte, yte, qte) = load_sample(dtype=np.float64)
    return Data("<bundled sample: train>", Xtr, ytr, qtr), Data("<bundled sample: test>", Xte, yte, qte)


def _split_queries(data, every=5):
    """(train, valid): every `every`-th query (in sorted id order) goes to validation."""
    import numpy as np

    ids = np.unique(data.qid)
    in_valid = np.isin(data.qid, ids[every - 1::every])
    part = lambda rows, tag: Data(f"{data.path} ({tag})", data.X[rows], data.y[rows], data.qid[rows],  # noqa: E731
                                  data.feature_names, None if data.position is None else data.position[rows])
    return part(~in_valid, "fit"), part(in_valid, "validation")


def _ndcg_line(est, data, k_values):
    from .metrics import ndcg_score

    scores = est.predict(data.X)
    gain = None if est.label_gain is None else est.label_gain
    opts = {} if gain is None else {"gain": gain}
    return "  ".join(f"NDCG@{k} {ndcg_score(data.y, scores, qid=data.qid, k=k, **opts):.4f}" for k in k_values)


def _with_names(X, names):
    """A DataFrame when the file named its columns (the model then keeps the names), else X."""
    if names is None:
        return X
    import pandas as pd

    return pd.DataFrame(X, columns=names, copy=False)


def cmd_fit(args):
    import numpy as np

    from .ranker import LambdaRanker

    console = _Console(args.quiet, hold=True)
    if args.train is None and args.set and "=" not in args.set[-1] and os.path.exists(args.set[-1]):
        # `ltr fit --set a=1 train.txt`: --set takes several values, so the file landed in it
        args.train = args.set.pop()
    if args.output:
        check_output(args.output, args.force, "model")
    params = build_params(args)
    est = LambdaRanker(**params)
    est._validate_params()  # bad values fail now, not after reading the data
    from .objectives import get_objective

    is_ranking = get_objective(est.objective).is_ranking if isinstance(est.objective, str) else \
        est.objective.is_ranking
    if params.get("early_stopping_rounds") is not None and not (args.valid or args.train is None):
        raise UsageError("early_stopping_rounds needs a validation file: add --valid FILE")

    valid = test = None
    if args.train is None:
        for flag in ("valid", "test"):
            if getattr(args, flag):
                raise UsageError(f"--{flag} needs a TRAIN file (without TRAIN, ltr fit uses the bundled sample)")
        train, test = _sample_splits()
        note = f"no TRAIN file: using the bundled sample (train {train.describe()}; test {test.describe()})"
        if params.get("early_stopping_rounds") is not None:
            train, valid = _split_queries(train)
            note += f"; early stopping on {valid.n_queries} of its training queries"
        console.note(note)
    else:
        train = read_data(args.train, what="TRAIN")
        console.note(f"TRAIN {args.train}: {train.describe()}")
        if args.valid:
            valid = read_data(args.valid, n_features=train.X.shape[1], feature_names=train.feature_names,
                              what="--valid")
            console.note(f"valid {args.valid}: {valid.describe()}")
        if args.test:
            test = read_data(args.test, n_features=train.X.shape[1], feature_names=train.feature_names,
                             what="--test")
    y = _labels(train, "TRAIN")
    for d, what in ((valid, "--valid"), (test, "--test")):
        if d is not None:
            _labels(d, what)
            if d.qid is None:
                raise CommandError(f"{what} file {d.path} has no query ids (qid:); evaluation needs them")
    if is_ranking and train.qid is None:
        raise CommandError(f"TRAIN file {train.path} has no query ids (qid:) but objective {est.objective!r} "
                           "ranks documents within queries")

    X = _with_names(train.X, train.feature_names)
    fit_kwargs = {"qid": train.qid}
    if train.position is not None:
        fit_kwargs["position"] = train.position
    if valid is not None:
        Xv = _with_names(valid.X, train.feature_names)
        fit_kwargs.update(eval_set=[(Xv, valid.y)], eval_qid=[valid.qid])
    callbacks = []
    progress = None
    if not args.quiet:
        mode = "bar" if sys.stderr.isatty() else "lines"
        progress = ProgressCallback(sys.stderr, mode, console)
        callbacks.append(progress)
    t0 = time.perf_counter()
    try:
        est.fit(X, y, callbacks=callbacks, **fit_kwargs)
    finally:
        if progress is not None:
            progress.close()
    elapsed = time.perf_counter() - t0
    console.release()
    if est.best_iteration_ is not None:
        console.note(f"early stopping: best iteration {est.best_iteration_} of {est.n_iter_}")
    console.note(f"trained {est.n_iter_} trees in {elapsed:.1f}s")

    if args.output:  # before the evaluation: a failing metric must not lose the model
        est.save_model(args.output, overwrite=args.force)
        console.note(f"wrote model {args.output}")
    k_values = sorted(set(est._eval_cutoffs()) | {10})
    for data, name in ((valid, "valid"), (test, "test")):
        if data is not None:
            try:
                print(f"{name} {_ndcg_line(est, data, k_values)}")
            except ValueError as exc:  # e.g. real-valued labels of a regression
                console.note(f"{name} NDCG not computed: {_describe(exc)}")
    return 0


def cmd_predict(args):
    import numpy as np

    console = _Console(args.quiet)
    check_output(args.output, args.force, "scores")
    est = _load_model(args.model)
    names = est.booster_.feature_names
    data = read_data(args.data, n_features=est.n_features_in_, feature_names=names, what="DATA")
    X = data.X
    if names is not None and data.feature_names is not None:
        import pandas as pd

        X = pd.DataFrame(X, columns=names, copy=False)
    elif names is not None:
        X = np.asarray(X)
        # the model knows column names but the file has none: predict on the raw matrix
        est = _without_feature_names(est)
    scores = est.predict(X, num_iteration=args.num_iteration)
    if args.output == "-":
        sys.stdout.write("".join(f"{s!r}\n" for s in scores.tolist()))
    elif args.output.lower().endswith(".npy"):
        _write_atomic(args.output, lambda fh: np.save(fh, scores, allow_pickle=False))
    else:
        text = "".join(f"{s!r}\n" for s in scores.tolist()).encode("ascii")
        _write_atomic(args.output, lambda fh: fh.write(text))
    if args.output != "-":
        console.note(f"wrote {scores.shape[0]} scores to {args.output}")
    return 0


def _without_feature_names(est):
    import copy

    est = copy.copy(est)
    if hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    return est


def cmd_evaluate(args):
    import numpy as np

    from .metrics import parse_metric

    est = _load_model(args.model)
    options = {}
    if est.label_gain is not None:
        options["label_gain"] = np.asarray(est.label_gain, dtype=np.float64)
    metrics = []
    for name in args.metric:
        try:
            metrics.append(parse_metric(name, **options))
        except (ValueError, TypeError) as exc:
            raise UsageError(_describe(exc)) from None
    names = est.booster_.feature_names
    data = read_data(args.data, n_features=est.n_features_in_, feature_names=names, what="DATA")
    y = _labels(data, "DATA")
    if data.qid is None:
        raise CommandError(f"DATA file {data.path} has no query ids (qid:); ranking metrics need them")
    X = data.X
    if names is not None and data.feature_names is not None:
        import pandas as pd

        X = pd.DataFrame(X, columns=names, copy=False)
    elif names is not None:
        est = _without_feature_names(est)
    scores = est.predict(X, num_iteration=args.num_iteration)

    from ._query import make_layout

    layout = make_layout(scores.shape[0], qid=data.qid, what="DATA")
    yg = np.ascontiguousarray(layout.to_grouped(np.asarray(y, dtype=np.float64)))
    sg = np.ascontiguousarray(layout.to_grouped(scores))
    results = [(m.name, float(m(yg, sg, layout.group_ptr))) for m in metrics]
    if args.json:
        print(json.dumps({"data": args.data, "n_rows": int(scores.shape[0]), "n_queries": layout.n_queries,
                          "metrics": dict(results)}, indent=2))
    else:
        width = max(6, *(len(n) for n, _ in results))
        print(f"{args.data}: {scores.shape[0]} rows, {layout.n_queries} queries")
        print(f"{'metric':<{width}}  value")
        for n, v in results:
            print(f"{n:<{width}}  {v:.6f}")
    return 0


def model_summary(est, path):
    """Facts about a model file, as a JSON-serialisable dict."""
    booster = est.booster_
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    trees = booster.trees
    n_leaves = [t.n_leaves for t in trees]
    return {
        "file": path,
        "file_bytes": os.path.getsize(path),
        "format": raw.get("format"),
        "format_version": raw.get("format_version"),
        "written_by_ltr": raw.get("ltr_version"),
        "objective": booster.objective.name,
        "objective_params": booster.objective.get_params(),
        "objective_state": _short_state(raw["objective"].get("state")),  # as stored in the file
        "n_trees": len(trees),
        "best_iteration": booster.best_iteration,
        "n_features": booster.n_features,
        "feature_names": booster.feature_names,
        "used_features": int(sum(1 for v in booster.feature_importance("split") if v > 0)),
        "leaves_per_tree": {"min": min(n_leaves), "mean": round(sum(n_leaves) / len(n_leaves), 2),
                            "max": max(n_leaves)} if n_leaves else None,
        "max_depth": max((t.depth() for t in trees), default=0),
        "init_score": booster.init_score,
        "params": booster.params,
    }


def _short_state(state):
    """The objective state with long arrays shortened for display."""
    out = {}
    for k, v in (state or {}).items():
        if isinstance(v, list) and len(v) > 12:
            out[k] = [*v[:10], f"... ({len(v)} values)"]
        else:
            out[k] = v
    return out


def cmd_info(args):
    est = _load_model(args.model)
    info = model_summary(est, args.model)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    names = info["feature_names"]
    if names is None:
        feats = f"{info['n_features']} (unnamed)"
    else:
        shown = ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")
        feats = f"{info['n_features']}: {shown}"
    leaves = info["leaves_per_tree"]
    rows = [
        ("file", f"{info['file']} ({info['file_bytes']} bytes)"),
        ("format", f"{info['format']} version {info['format_version']}, written by ltr {info['written_by_ltr']}"),
        ("objective", info["objective"] + (f" {json.dumps(info['objective_params'])}"
                                           if info["objective_params"] else "")),
        ("trees", str(info["n_trees"])),
        ("best iteration", "-" if info["best_iteration"] is None else str(info["best_iteration"])),
        ("leaves per tree", "-" if leaves is None else f"min {leaves['min']}, mean {leaves['mean']}, "
                                                        f"max {leaves['max']}; max depth {info['max_depth']}"),
        ("features", feats),
        ("features used", str(info["used_features"])),
        ("init score", repr(info["init_score"])),
    ]
    if info["objective_state"]:
        rows.append(("objective state", json.dumps(info["objective_state"])))
    params = ", ".join(f"{k}={v!r}" for k, v in sorted(info["params"].items()))
    rows.append(("params", params or "-"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


def cmd_export(args):
    from .export import save_lightgbm_model

    check_output(args.output, args.force, "output")
    if args.output == "-":
        raise UsageError("export needs a file name for -o")
    est = _load_model(args.model)
    save_lightgbm_model(est, args.output, overwrite=args.force, num_iteration=args.num_iteration)
    _Console(args.quiet).note(f"wrote LightGBM model {args.output}")
    return 0


# ----------------------------------------------------------------------------
# Parser and entry point
# ----------------------------------------------------------------------------
_FIT_EPILOG = """\
parameters (--set KEY=VALUE, or KEY = VALUE in the --config TOML file; --set wins):
  the LambdaRanker constructor arguments, e.g. n_estimators, learning_rate,
  num_leaves, max_depth, min_child_samples, reg_lambda, subsample,
  subsample_freq, colsample_bytree, max_bin, random_state (default 0 here),
  n_jobs, sigmoid, lambdarank_truncation_level, label_gain, eval_at,
  early_stopping_rounds (with --valid). objective_params.NAME=VALUE sets one
  parameter of the objective. Values: numbers, true/false, none,
  comma lists (eval_at=1,3,10) or JSON ([1,3,10], {"permutations": 20}).

examples:
  ltr fit                                          # bundled sample, prints test NDCG@10
  ltr fit train.txt --valid vali.txt --set early_stopping_rounds=20 -o model.json
  ltr fit train.txt --config params.toml --set num_leaves=63 -o model.json
"""


def _common(parser, top=False):
    # On sub-commands the default is SUPPRESS, so that `ltr -q fit` keeps the top-level value.
    default = False if top else argparse.SUPPRESS
    parser.add_argument("--quiet", "-q", action="store_true", default=default,
                        help="no progress or notes on stderr (results are still printed)")
    parser.add_argument("--debug", action="store_true", default=default, help="show the traceback of an error")


def build_parser():
    parser = _Parser(prog=PROG, description="Gradient-boosted learning to rank.",
                     epilog="Run 'ltr COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"ltr {__version__}")
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("fit", help="train a model", formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Train a ranker. Without TRAIN, train on the bundled sample and print "
                                   "its test NDCG@10.", epilog=_FIT_EPILOG)
    p.add_argument("train", nargs="?", metavar="TRAIN", help="training data (svmlight/LETOR, .npz or .parquet)")
    p.add_argument("--valid", metavar="FILE", help="validation data: evaluated every tree; early stopping with "
                                                   "--set early_stopping_rounds=N")
    p.add_argument("--test", metavar="FILE", help="test data: NDCG@10 printed after training")
    p.add_argument("--objective", metavar="NAME", help="objective (default lambdamart)")
    p.add_argument("--set", metavar="KEY=VALUE", nargs="+", action="extend", default=[],
                   help="set a parameter (repeatable)")
    p.add_argument("--config", metavar="FILE.toml", help="parameters from a TOML file")
    p.add_argument("-o", "--output", metavar="MODEL", help="write the model (JSON) here")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    _common(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("predict", help="score the rows of a data file",
                       description="Write one score per row of DATA (text, one per line; .npy for NumPy).")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    p.add_argument("-o", "--output", metavar="SCORES", required=True, help="output file ('-' for stdout)")
    p.add_argument("--num-iteration", type=int, default=None, metavar="N",
                   help="use the first N trees (default: the best iteration, else all)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    _common(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="ranking metrics of a model on a data file",
                       description="Print ranking metrics of MODEL's scores on DATA (needs labels and query ids).")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--metric", nargs="+", default=["ndcg@10"], metavar="NAME",
                   help="metrics such as ndcg@10 map mrr err@10 precision@5 (default ndcg@10)")
    p.add_argument("--num-iteration", type=int, default=None, metavar="N")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("info", help="describe a model file")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("export", help="write a model in LightGBM's text format",
                       description="Write MODEL as a LightGBM text model: lightgbm.Booster(model_file=FILE)"
                                   ".predict(X, raw_score=True) gives ltr's scores.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("-o", "--output", metavar="FILE", required=True)
    p.add_argument("--num-iteration", type=int, default=None, metavar="N")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    _common(p)
    p.set_defaults(func=cmd_export)
    return parser


def main(argv=None):
    """Run the command line; returns the exit status (0 success, 1 error, 2 usage error)."""
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    debug = "--debug" in argv
    try:
        with _one_line_warnings():
            parser = build_parser()
            args = parser.parse_args(argv)
            if args.command is None:
                parser.print_help(sys.stderr)
                return 2
            return int(args.func(args) or 0)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `ltr predict ... -o - | head`: the reader left, not an error to report
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout at exit
        except (OSError, ValueError):
            pass
        return 1
    except (CommandError, ValueError, TypeError, OSError, ImportError, KeyError, MemoryError) as exc:
        if debug:
            traceback.print_exc()
        print(f"{PROG}: error: {_describe(exc)}", file=sys.stderr)
        return _exit_code(exc)
    except Exception as exc:  # a bug: still one line, with a pointer to --debug
        if debug:
            traceback.print_exc()
        print(f"{PROG}: internal error: {type(exc).__name__}: {_describe(exc)} (run with --debug for the "
              "traceback and please report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
