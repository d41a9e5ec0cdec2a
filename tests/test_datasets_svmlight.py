"""svmlight/LETOR reader and writer: bit-for-bit agreement with scikit-learn, errors, round trips."""
import bz2
import gzip
import io
import lzma

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_svmlight_file

from ltr.datasets import dump_svmlight, load_svmlight
from ltr.datasets._svmlight import parse_svmlight_bytes
from ltr.datasets._svmlight_write import shortest_float32


def sk_load(path_or_bytes, dtype=np.float32, **kw):
    f = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    return load_svmlight_file(f, dtype=dtype, query_id=True, **kw)


def assert_same_as_sklearn(source, *, dtype=np.float32, n_features=None, zero_based="auto"):
    X, y, qid = load_svmlight(source if not isinstance(source, bytes) else source, dtype=dtype,
                              n_features=n_features, zero_based=zero_based)
    Xs, ys, qs = sk_load(source, dtype=dtype, n_features=n_features, zero_based=zero_based)
    Xs = Xs.toarray()
    assert X.dtype == dtype and X.flags.c_contiguous
    assert X.shape == Xs.shape
    # Dense: equal values (scipy's toarray turns a stored -0.0 into +0.0, we keep -0.0);
    # the CSR check below compares the stored values bit for bit.
    assert np.array_equal(X, Xs.astype(dtype), equal_nan=True)
    assert np.array_equal(np.isnan(X), np.isnan(Xs))
    assert y.dtype == np.float64 and y.tobytes() == ys.tobytes()
    if qs.size:
        assert qid.dtype == np.int64 and np.array_equal(qid, qs)
    else:
        assert qid is None
    Xc, yc, qc = load_svmlight(source, dtype=dtype, n_features=n_features, zero_based=zero_based, dense=False)
    Xsc = sk_load(source, dtype=dtype, n_features=n_features, zero_based=zero_based)[0]
    assert sp.isspmatrix_csr(Xc) and Xc.shape == Xsc.shape
    assert np.array_equal(Xc.indptr, Xsc.indptr) and np.array_equal(Xc.indices, Xsc.indices)
    assert Xc.data.tobytes() == Xsc.data.astype(dtype).tobytes()


@pytest.mark.parametrize("part", [1, 2, 3, 4, 5])
def test_mq2008_partitions_match_sklearn(shared_datasets, part):
    assert_same_as_sklearn(shared_datasets / "mq2008" / f"S{part}.txt")


def test_mq2008_float64(shared_datasets):
    assert_same_as_sklearn(shared_datasets / "mq2008" / "S1.txt", dtype=np.float64)


@pytest.mark.parametrize("name", ["rank.train", "rank.test"])
def test_lightgbm_example_matches_sklearn(shared_datasets, name):
    assert_same_as_sklearn(shared_datasets / "lightgbm_rank_example" / name, n_features=300)


TRICKY = (
    b"# a header comment\n"
    b"\n"
    b"2 qid:1 1:0.5 3:-1.25e-3 7:+4 # trailing comment\r\n"
    b"0 qid:1 2:1E5 4:-0 10:.5   \r\n"
    b"   \t\n"
    b"1 qid:-7 1:nan 2:inf 3:-Infinity 5:3.4028234663852886e+38 6:1e-45 8:0\n"
    b"# only a comment\n"
    b"4.5 qid:+12 1:123456789012345678901234567890 2:0.1000000000000000055511151231257827 9:7.\n"
    b"-1 qid:12\n"
    b"+3e0 qid:12 4:1#no space before the comment\n"
    b"2\tqid:13\t1:1\t2:2"  # no final newline, tabs
)


def test_tricky_content_matches_sklearn():
    assert_same_as_sklearn(TRICKY)


@pytest.mark.parametrize("suffix, compress", [("", None), (".gz", gzip.compress), (".bz2", bz2.compress),
                                              (".xz", lzma.compress)])
def test_compressed_files(tmp_path, suffix, compress):
    path = tmp_path / f"data.svm{suffix}"
    path.write_bytes(compress(TRICKY) if compress else TRICKY)
    X, y, qid = load_svmlight(path)
    X0, y0, q0 = load_svmlight(TRICKY)
    assert X.tobytes() == X0.tobytes() and np.array_equal(y, y0) and np.array_equal(qid, q0)
    if suffix in ("", ".gz", ".bz2"):  # scikit-learn reads these
        assert_same_as_sklearn(path)


def test_file_objects_and_bytes(tmp_path):
    X0, y0, q0 = load_svmlight(TRICKY)
    X1, y1, q1 = load_svmlight(io.BytesIO(TRICKY))
    assert X0.tobytes() == X1.tobytes()
    with pytest.raises(TypeError, match="binary mode"):
        load_svmlight(io.StringIO(TRICKY.decode()))


def test_no_qid_gives_none():
    data = b"1 1:1 2:2\n0 3:1\n"
    X, y, qid = load_svmlight(data)
    assert qid is None
    assert_same_as_sklearn(data)


def test_crlf_and_bom():
    X, y, qid = load_svmlight(b"\xef\xbb\xbf1 qid:1 1:2\r\n0 qid:1 2:3\r\n")
    assert np.array_equal(X, [[2, 0], [0, 3]]) and np.array_equal(y, [1, 0]) and np.array_equal(qid, [1, 1])


def test_zero_based_modes():
    one = b"1 qid:1 1:1 3:3\n"
    zero = b"1 qid:1 0:5 2:2\n"
    assert load_svmlight(one)[0].tolist() == [[1, 0, 3]]          # auto: one-based
    assert load_svmlight(zero)[0].tolist() == [[5, 0, 2]]         # auto: index 0 seen -> zero-based
    assert load_svmlight(one, zero_based=True)[0].tolist() == [[0, 1, 0, 3]]
    assert load_svmlight(one, zero_based=False)[0].tolist() == [[1, 0, 3]]
    with pytest.raises(ValueError, match=r"<bytes>, line 1: feature index 0 in a one-based file"):
        load_svmlight(zero, zero_based=False)
    for zb in ("auto", True, False):
        assert_same_as_sklearn(one, zero_based=zb)
    with pytest.raises(ValueError, match="zero_based"):
        load_svmlight(one, zero_based="yes")


def test_n_features():
    data = b"1 qid:1 1:1 3:3\n"
    assert load_svmlight(data, n_features=5)[0].shape == (1, 5)
    assert load_svmlight(data, n_features=5, dense=False)[0].shape == (1, 5)
    with pytest.raises(ValueError, match="n_features=2 is too small"):
        load_svmlight(data, n_features=2)


def test_empty_input():
    X, y, qid = load_svmlight(b"# nothing\n\n")
    assert X.shape == (0, 0) and y.shape == (0,) and qid is None


def test_parallel_chunks_give_identical_results():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30000, 12)).astype(np.float32)
    X[rng.random(X.shape) < 0.3] = 0
    buf_io = io.BytesIO()
    dump_svmlight(X, rng.integers(0, 5, 30000), buf_io, qid=np.repeat(np.arange(3000), 10))
    buf = np.frombuffer(buf_io.getvalue(), dtype=np.uint8)
    assert buf.size > 3 << 20  # several 1 MiB chunks
    one = parse_svmlight_bytes(buf, n_threads=1)
    many = parse_svmlight_bytes(buf, n_threads=8)
    for a, b in zip(one[:3], many[:3]):
        assert a.tobytes() == b.tobytes()
    assert one[0].tobytes() == X.tobytes()


BAD_LINES = [
    (b"abc qid:1 1:2", "could not parse the label"),
    (b"1 qid:x 1:2", "could not parse the qid"),
    (b"1 qid:99999999999999999999 1:2", "could not parse the qid"),
    (b"1 1:2 qid:3", "'qid:' must come right after the label"),
    (b"1 qid:1 foo", "expected an 'index:value' pair"),
    (b"1 qid:1 3 4", "expected an 'index:value' pair"),
    (b"1 qid:1 1:", "could not parse the feature value"),
    (b"1 qid:1 1:2:3", "could not parse the feature value"),
    (b"1 qid:1 1:1_0", "could not parse the feature value"),
    (b"1 qid:1 1:0x1", "could not parse the feature value"),
    (b"1 qid:1 3:1 2:1", "strictly increasing"),
    (b"1 qid:1 2:1 2:1", "strictly increasing"),
    (b"1 qid:1 -2:1", "negative feature index"),
    (b"1 qid:1 99999999999:1", "feature index too large"),
    (b"1:2 3:4", "could not parse the label"),
]


@pytest.mark.parametrize("line, message", BAD_LINES)
def test_malformed_lines_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.svm"
    path.write_bytes(b"# header\n1 qid:1 1:1\n\n" + line + b"\n0 qid:1 1:2\n")
    with pytest.raises(ValueError) as err:
        load_svmlight(path)
    text = str(err.value)
    assert str(path) in text and "line 4" in text and message in text
    # scikit-learn rejects the same lines, except a late 'qid:' (it then fails differently)
    # and Python's digit separators, which its float() accepts and we document as an error.
    if b"qid:3" not in line and b"_" not in line:
        with pytest.raises((ValueError, OverflowError)):
            sk_load(path.read_bytes())


def test_first_bad_line_is_reported_with_many_chunks():
    good = b"1 qid:1 1:0.5 2:0.25 3:0.125\n" * 200000
    data = good + b"1 qid:1 1:bad\n" + good + b"1 qid:1 x\n"
    with pytest.raises(ValueError, match="line 200001: could not parse the feature value"):
        parse_svmlight_bytes(np.frombuffer(data, dtype=np.uint8), n_threads=8)


def test_mixed_qid_lines():
    with pytest.raises(ValueError, match=r"line 3: lines with and without 'qid:' are mixed \(line 1 has a qid, line 3"):
        load_svmlight(b"1 qid:1 1:1\n0 qid:1 1:2\n1 1:3\n")
    with pytest.raises(ValueError, match=r"line 2: lines with and without 'qid:' are mixed \(line 1 has no qid, line 2"):
        load_svmlight(b"1 1:1\n0 qid:1 1:2\n")
    # a bad number before the mixed line is reported first
    with pytest.raises(ValueError, match=r"line 1: could not parse the feature value"):
        load_svmlight(b"1 qid:1 1:x\n0 1:2\n")


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        load_svmlight("/nonexistent/file.svm")


def test_dtype_validation():
    with pytest.raises(ValueError, match="dtype"):
        load_svmlight(b"1 1:1\n", dtype=np.int32)


# ---- writer ----------------------------------------------------------------------------


def test_shortest_float32_is_shortest_and_exact():
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2**31 - 2**23, 20000, dtype=np.int64).astype(np.uint32)  # finite positive float32
    values = bits.view(np.float32)
    for x in values[values > 0]:
        m, k = shortest_float32(x)
        text = f"{m}e{k}"
        assert np.float32(float(text)) == x
        n = len(str(m).rstrip("0"))
        if n > 1:  # no shorter decimal reads back to x
            shorter = np.format_float_scientific(x, precision=n - 2, unique=False)
            assert np.float32(float(shorter)) != x


def test_round_trip_float32_exact(tmp_path):
    rng = np.random.default_rng(2)
    X = (rng.normal(size=(500, 30)) * 10.0 ** rng.integers(-40, 39, size=(500, 30))).astype(np.float32)
    X[rng.random(X.shape) < 0.2] = 0
    X[0, :4] = [np.nan, np.inf, -np.inf, np.float32(1e-45)]
    X[1, :3] = [np.finfo(np.float32).max, np.finfo(np.float32).tiny, -0.0]
    y = rng.integers(0, 5, 500)
    qid = np.repeat(np.arange(-250, 250, 10), 10)
    for name in ("rt.svm", "rt.svm.gz", "rt.svm.bz2"):
        path = tmp_path / name
        dump_svmlight(X, y, path, qid=qid, comment="line one\nline two")
        X2, y2, q2 = load_svmlight(path, n_features=30)
        assert np.array_equal(X2, X, equal_nan=True) and np.array_equal(y2, y) and np.array_equal(q2, qid)
        if not name.endswith("xz"):
            Xs, ys, qs = sk_load(path, n_features=30)
            assert np.array_equal(Xs.toarray(), X, equal_nan=True)
    text = (tmp_path / "rt.svm").read_bytes()
    assert text.startswith(b"# line one\n# line two\n")
    assert b"1:nan 2:inf 3:-inf 4:1e-45" in text


def test_round_trip_float64_sparse_and_zero_based(tmp_path):
    rng = np.random.default_rng(3)
    X = sp.random(200, 50, density=0.1, format="csr", random_state=4) * 3.0  # float64, not float32-exact
    X.data[0] = 0.1
    y = rng.normal(size=200)  # non-integer labels
    path = tmp_path / "sp.svm"
    dump_svmlight(X, y, path, zero_based=True)
    X2, y2, q2 = load_svmlight(path, dtype=np.float64, zero_based=True, n_features=50, dense=False)
    assert q2 is None
    assert np.array_equal(X2.toarray(), X.toarray()) and np.array_equal(y2, y)


def test_round_trip_float64_dense_exact(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 12)) * 10.0 ** rng.integers(-300, 300, size=(300, 12))
    X[::2] = np.round(X[::2], 4)  # short decimals (kernel path) next to 17-digit ones (Python path)
    X[1, :6] = [np.float64(np.float32(0.1)), 2.5e-320, -0.0, np.nan, np.inf, 2.0**60]
    path = tmp_path / "d64.svm"
    dump_svmlight(X, np.arange(300) % 5, path, skip_zeros=False)
    X2, _, _ = load_svmlight(path, dtype=np.float64, n_features=12)
    assert X2.tobytes() == X.tobytes()  # bit for bit, -0.0 and NaN included
    text = path.read_bytes().split(b"\n")[1]
    assert b"1:0.10000000149011612 2:2.5e-320 3:-0 4:nan 5:inf 6:1.152921504606847e+18" in text
    # integers beyond float32's exact range are written exactly
    buf = io.BytesIO()
    dump_svmlight(np.array([[2**40 + 1, 3]]), [1], buf)
    assert buf.getvalue() == b"1 1:1099511627777 2:3\n"


def test_shortest_float64_matches_repr_length():
    from ltr.datasets._svmlight_write import shortest_float64

    rng = np.random.default_rng(6)
    raw = np.abs(rng.normal(size=3000) * 10.0 ** rng.integers(-20, 20, 3000))
    for x in [float(f"{v:.{d}g}") for v, d in zip(raw, rng.integers(1, 18, 3000))]:
        if x == 0:
            continue
        m, k, found = shortest_float64(x)
        digits = len(repr(float(x)).split("e")[0].replace(".", "").replace("-", "").strip("0"))
        if digits <= 15:
            assert found and float(f"{m}e{k}") == x
            assert len(str(m).rstrip("0")) == digits  # as short as Python's repr


def test_writer_explicit_zeros_and_gzip_determinism(tmp_path):
    X = np.array([[0, 1.5], [2, 0]], dtype=np.float32)
    buf = io.BytesIO()
    dump_svmlight(X, [1, 0], buf, qid=[7, 7], skip_zeros=False)
    assert buf.getvalue() == b"1 qid:7 1:0 2:1.5\n0 qid:7 1:2 2:0\n"
    a, b = tmp_path / "a.svm.gz", tmp_path / "b.svm.gz"
    dump_svmlight(X, [1, 0], a, qid=[7, 7])
    dump_svmlight(X, [1, 0], b, qid=[7, 7])
    assert a.read_bytes() == b.read_bytes()


def test_writer_validates_inputs():
    with pytest.raises(ValueError, match="y must have shape"):
        dump_svmlight(np.zeros((2, 2)), [1], io.BytesIO())
    with pytest.raises(ValueError, match="qid must have shape"):
        dump_svmlight(np.zeros((2, 2)), [1, 1], io.BytesIO(), qid=[1])
    with pytest.raises(ValueError, match="2-dimensional"):
        dump_svmlight(np.zeros(3), [1, 1, 1], io.BytesIO())
