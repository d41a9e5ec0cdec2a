"""Baidu-ULTR readers on hand-written fixtures (tests/data/baidu_ultr), element by element."""
import gzip
from pathlib import Path

import numpy as np
import pytest

from ltr.datasets import (
    iter_baidu_ultr_clicklog,
    load_baidu_ultr_annotations,
    load_baidu_ultr_clicklog,
    load_baidu_ultr_sessions,
)
from ltr.datasets import _baidu

pa = pytest.importorskip("pyarrow")

DATA = Path(__file__).resolve().parent / "data" / "baidu_ultr"
PART = DATA / "part-00000"
NAN = np.nan

# ---- (b) raw click log: the values written in tests/data/baidu_ultr/part-00000 ----------
RAW_QID = [0, 0, 0, 0, 0, 1, 1, 2]
RAW_POSITION = [1, 2, 3, 4, 5, 1, 2, 1]
RAW_CLICK = [1, 0, 0, 0, 1, 0, 1, 1]
RAW_MEDIA = [0, 0, 11, 2, 0, 0, 5, 3]  # '-' -> 0
RAW_DISPLAYED = [3.5, 2.25, 10.0, 0.0, 12.125, NAN, 0.75, 4.0]
RAW_HEIGHT = [144, 96, 200, 120, 130, 100, 110, 90]
RAW_SLIPOFF = [0, 0, 0, 0, 2, 0, 1, 0]
RAW_DWELL = [25.0, NAN, NAN, NAN, 61.5, NAN, 8.0, 3.25]
RAW_QUERY_ID = [1001, 2002, 1001]
RAW_URL = ["0f4e1c9a7b3d2e8f5a6b7c8d9e0f1a2b", "1a2b3c4d5e6f708192a3b4c5d6e7f809", "2b3c4d5e6f708192a3b4c5d6e7f8091a",
           "3c4d5e6f708192a3b4c5d6e7f8091a2b", "4d5e6f708192a3b4c5d6e7f8091a2b3c", "5e6f708192a3b4c5d6e7f8091a2b3c4d",
           "0f4e1c9a7b3d2e8f5a6b7c8d9e0f1a2b", "6f708192a3b4c5d6e7f8091a2b3c4d5e"]


def check_raw(d, keep=slice(None)):
    idx = np.arange(8)[keep] if isinstance(keep, slice) else np.asarray(keep)
    assert d.click.dtype == np.int8 and d.position.dtype == np.int32 and d.qid.dtype == np.int64
    assert d.click.tolist() == [RAW_CLICK[i] for i in idx]
    assert d.doc_columns["media_type"].tolist() == [RAW_MEDIA[i] for i in idx]
    assert d.doc_columns["media_type"].dtype == np.int32
    np.testing.assert_array_equal(d.doc_columns["displayed_time"], np.array(RAW_DISPLAYED, np.float32)[idx])
    assert d.doc_columns["displayed_time"].dtype == np.float32
    assert d.doc_columns["serp_height"].tolist() == [RAW_HEIGHT[i] for i in idx]
    assert d.doc_columns["slipoff_count_after_click"].tolist() == [RAW_SLIPOFF[i] for i in idx]


def test_clicklog_all_results():
    d = load_baidu_ultr_clicklog(PART, fields=list(_baidu.DEFAULT_CLICKLOG_FIELDS) + ["dwelling_time", "url_md5"],
                                 query_text=True)
    assert d.qid.tolist() == RAW_QID
    assert d.position.tolist() == RAW_POSITION
    check_raw(d)
    np.testing.assert_array_equal(d.doc_columns["dwelling_time"], np.array(RAW_DWELL, np.float32))
    assert d.doc_columns["url_md5"].tolist() == RAW_URL
    assert d.query_columns["query_id"].tolist() == RAW_QUERY_ID
    assert d.query_columns["query"].tolist() == [b"4\x01512\x0199", b"31\x0141", b"4\x01512\x0199"]
    assert d.query_columns["query_reformulation"].tolist() == [b"7\x0130", b"", b""]
    assert d.group_ptr.tolist() == [0, 5, 7, 8] and d.n_lists == 3


def test_clicklog_hager_filters():
    d = load_baidu_ultr_clicklog(PART, drop_missing_documents=True, drop_others_searched=True)
    # missing document (pos 2) dropped keeping the gap; "others searched" box (pos 3) dropped without one
    assert d.qid.tolist() == [0, 0, 0, 1, 1, 2]
    assert d.position.tolist() == [1, 3, 4, 1, 2, 1]
    check_raw(d, [0, 3, 4, 5, 6, 7])
    only_missing = load_baidu_ultr_clicklog(PART, drop_missing_documents=True)
    assert only_missing.position.tolist() == [1, 3, 4, 5, 1, 2, 1]
    only_box = load_baidu_ultr_clicklog(PART, drop_others_searched=True)
    assert only_box.position.tolist() == [1, 2, 3, 4, 1, 2, 1]
    assert only_box.doc_columns["serp_height"].tolist() == [144, 96, 120, 130, 100, 110, 90]


def test_clicklog_title_and_abstract_bytes():
    d = load_baidu_ultr_clicklog(PART, fields=["title", "abstract"])
    assert d.doc_columns["title"][0] == b"12\x01345"
    assert d.doc_columns["abstract"][0] == b"678\x0190\x01111"
    assert d.doc_columns["title"][1] == _baidu.MISSING_DOCUMENT_TITLE
    assert d.doc_columns["title"][2] == _baidu.OTHERS_SEARCHED_TITLE
    assert d.doc_columns["abstract"][2] == b""


def test_clicklog_gzip_multiple_files_and_max_sessions(tmp_path):
    gz = tmp_path / "part-00001.gz"
    gz.write_bytes(gzip.compress(PART.read_bytes()))
    d = load_baidu_ultr_clicklog([PART, gz])
    assert d.qid.tolist() == RAW_QID + [q + 3 for q in RAW_QID]
    assert d.query_columns["query_id"].tolist() == RAW_QUERY_ID * 2
    assert load_baidu_ultr_clicklog([PART, gz], max_sessions=4).qid.tolist() == RAW_QID + [3, 3, 3, 3, 3]
    assert load_baidu_ultr_clicklog(gz, max_sessions=2).position.tolist() == RAW_POSITION[:7]
    assert load_baidu_ultr_clicklog(gz, max_sessions=0).n_rows == 0


@pytest.mark.parametrize("block_size", [64, 200, 333, 1 << 20])
def test_clicklog_streaming_keeps_sessions_whole(block_size):
    chunks = list(iter_baidu_ultr_clicklog(PART, block_size=block_size, drop_others_searched=True))
    for c in chunks:
        assert c.qid[0] == 0 and len(c.query_columns["query_id"]) == c.n_lists == c.qid[-1] + 1
    whole = load_baidu_ultr_clicklog(PART, drop_others_searched=True)
    joined = _baidu._concat(chunks)
    assert np.array_equal(joined.qid, whole.qid) and np.array_equal(joined.position, whole.position)
    if block_size < 400:
        assert len(chunks) > 1


def _random_log(rng, n_sessions):
    lines = []
    for s in range(n_sessions):
        q = b"\x01".join(str(t).encode() for t in rng.integers(0, 5000, rng.integers(1, 5)))
        lines.append(b"%d\t%s\t" % (rng.integers(1, 10**6), q))
        for pos in range(1, rng.integers(1, 12)):
            f = [b"%d" % rng.integers(0, 40) for _ in range(32)]
            f[0] = b"%d" % pos
            f[1] = b"%032x" % rng.integers(0, 2**62)
            kind = rng.random()
            f[2] = (_baidu.MISSING_DOCUMENT_TITLE if kind < 0.1 else
                    _baidu.OTHERS_SEARCHED_TITLE if kind < 0.2 else b"%d\x01%d" % tuple(rng.integers(0, 9999, 2)))
            f[3] = b"%d" % rng.integers(0, 9999)
            f[5] = b"1" if rng.random() < 0.2 else b"0"
            for k in (4, 9, 15, 16):
                if rng.random() < 0.1:
                    f[k] = b"-"
            f[10] = b"%.3f" % rng.uniform(0, 60)
            f[16] = (b"%.2e" % rng.uniform(0, 100)) if f[16] != b"-" else b"-"
            lines.append(b"\t".join(f))
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("drop", [False, True])
def test_kernel_matches_python_reference(tmp_path, drop):
    rng = np.random.default_rng(7)
    data = _random_log(rng, 400)
    path = tmp_path / "part-00002"
    path.write_bytes(data)
    fields = ["media_type", "displayed_time", "serp_height", "dwelling_time", "click_count", "url_md5", "title"]
    num, text, _ = _baidu._field_plan(fields)
    ref = _baidu._parse_block_python(data, str(path), 1, num, text, True, drop, drop)
    for block_size in (4096, 1 << 20):
        got = load_baidu_ultr_clicklog(path, fields=fields, query_text=True, drop_missing_documents=drop,
                                       drop_others_searched=drop, block_size=block_size)
        assert np.array_equal(got.qid, ref.qid) and np.array_equal(got.position, ref.position)
        assert np.array_equal(got.click, ref.click)
        for k in ref.doc_columns:
            a, b = got.doc_columns[k], ref.doc_columns[k]
            if a.dtype.kind == "f":
                assert a.tobytes() == b.tobytes(), k
            else:
                assert a.tolist() == b.tolist(), k
        for k in ref.query_columns:
            assert got.query_columns[k].tolist() == ref.query_columns[k].tolist()


def test_numbers_needing_exact_fallback(tmp_path):
    line = PART.read_bytes().split(b"\n")[1].split(b"\t")
    line[10] = b"0.1000000000000000055511151231257827021181583404541015625001"
    path = tmp_path / "p"
    path.write_bytes(b"1\t2\t\n" + b"\t".join(line) + b"\n")
    d = load_baidu_ultr_clicklog(path)
    assert d.doc_columns["displayed_time"][0] == np.float32(float(line[10]))


GOOD_HEADER = b"1001\t4\t\n"


def _result(**changes):
    f = PART.read_bytes().split(b"\n")[1].split(b"\t")
    for k, v in changes.items():
        f[int(k[1:])] = v
    return b"\t".join(f)


@pytest.mark.parametrize("body, message", [
    (GOOD_HEADER + b"x1\t2\t3\n", "could not parse the session's qid"),
    (GOOD_HEADER + b"\t".join([b"1"] * 31) + b"\n", "must have 32 tab-separated fields"),
    (GOOD_HEADER + _result(f0=b"0") + b"\n", "could not parse the position"),
    (GOOD_HEADER + _result(f0=b"a") + b"\n", "could not parse the position"),
    (GOOD_HEADER + _result(f5=b"2") + b"\n", "click field"),
    (GOOD_HEADER + _result(f9=b"12px") + b"\n", "could not parse a numeric field"),
])
@pytest.mark.parametrize("block_size", [32, 1 << 20])
def test_clicklog_errors_name_file_and_line(tmp_path, body, message, block_size):
    path = tmp_path / "part-00003"
    prefix = PART.read_bytes()  # 11 valid lines first
    path.write_bytes(prefix + body)
    bad_line = 13  # after the 11 lines of the fixture and the new header
    with pytest.raises(ValueError) as err:
        load_baidu_ultr_clicklog(path, block_size=block_size)
    assert f"{path}, line {bad_line}: " in str(err.value) and message in str(err.value)
    if True:  # the Python reference reports the same line
        num, text, _ = _baidu._field_plan(list(_baidu.DEFAULT_CLICKLOG_FIELDS))
        with pytest.raises(ValueError, match=f"line {bad_line}: "):
            _baidu._parse_block_python(path.read_bytes(), str(path), 1, num, text, False, False, False)


def test_clicklog_result_first_in_file(tmp_path):
    path = tmp_path / "p"
    path.write_bytes(_result() + b"\n")
    with pytest.raises(ValueError, match=r"line 1: a result line appears before any session header"):
        load_baidu_ultr_clicklog(path)


def test_clicklog_field_validation():
    with pytest.raises(ValueError, match="unknown click-log field"):
        load_baidu_ultr_clicklog(PART, fields=["nope"])
    with pytest.raises(ValueError, match="always returned"):
        load_baidu_ultr_clicklog(PART, fields=["click"])
    with pytest.raises(ValueError, match="requested twice"):
        load_baidu_ultr_clicklog(PART, fields=["media_type", "multimedia_type"])
    with pytest.raises(FileNotFoundError):
        load_baidu_ultr_clicklog(DATA / "missing.gz")


def test_raw_annotations():
    a = load_baidu_ultr_annotations(DATA / "annotation_data_0522.txt", query_text=True)
    # qid 3001 is shared by two different queries -> two lists
    assert a.qid.tolist() == [0, 0, 0, 1, 1, 2]
    assert a.label.tolist() == [3, 0, 1, 2, 0, 4]
    assert a.query_columns["query_id"].tolist() == [3001, 3001, 4002]
    assert a.query_columns["frequency_bucket"].tolist() == [0, 7, 9]
    assert a.query_columns["query"].tolist() == [b"9\x0118", b"27", b"5\x016"]
    assert a.doc_columns["title"][1] == b"21429"


# ---- (a) session tables: values written in tests/data/baidu_ultr/make_session_tables.py ----
CLICK_X = [
    [12.5, 7.25, 5.0, 0.5, 3, 1.5, -4.25, -5.5, -6.0, 40, 8, 32],
    [9.0, 0.0, 9.0, 0.25, 1, 2.0, -7.0, -7.5, -8.0, 55, 10, 45],
    [0.0, 0.0, 0.0, 0.0, 0, 0.0, -9.0, -9.5, -10.0, 30, 6, 24],
    [3.0, 1.0, 2.0, 0.125, 2, 0.75, -3.0, -3.5, -4.0, 20, 4, 16],
    [4.5, 2.5, 2.0, 0.375, 4, 0.75, -2.0, -2.5, -3.0, 22, 5, 17],
    [1.0, 1.0, 0.0, 0.0625, 1, 1.0, -1.0, -1.5, -2.0, 10, 2, 8],
    [2.0, 0.0, 2.0, 0.0625, 1, 1.0, -1.25, -1.75, -2.25, 11, 3, 8],
    [3.0, 1.5, 1.5, 0.0625, 1, 1.0, -1.5, -2.0, -2.5, 12, 4, 8],
    [4.0, 2.0, 2.0, 0.0625, 1, 1.0, -1.75, -2.25, -2.75, 13, 5, 8],
]


def test_session_clicks_table():
    d = load_baidu_ultr_sessions(DATA / "clicks.parquet")
    assert d.qid.tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 2]
    assert d.position.tolist() == [1, 3, 4, 1, 2, 1, 2, 3, 5]
    assert d.click.tolist() == [1, 0, 1, 0, 1, 0, 0, 0, 1]
    assert d.label is None
    assert d.feature_names == list(_baidu.LEXICAL_FEATURES)
    assert d.X.dtype == np.float32 and d.X.flags.c_contiguous
    assert d.X.tolist() == CLICK_X
    assert d.doc_columns["media_type"].tolist() == [0, 2, 0, 0, 5, 3, 0, 0, 1]
    assert d.doc_columns["displayed_time"].tolist() == [3.5, 0.0, 12.125, 0.0, 0.75, 4.0, 1.0, 2.0, 8.5]
    assert d.doc_columns["serp_height"].tolist() == [144, 120, 130, 100, 110, 90, 80, 70, 60]
    assert d.doc_columns["slipoff_count_after_click"].tolist() == [0, 0, 2, 0, 1, 0, 0, 0, 0]
    assert d.query_columns["query_id"].tolist() == ["1001", "2002", "1001"]
    assert d.query_columns["n"].tolist() == [3, 2, 4]


def test_session_embedding():
    d = load_baidu_ultr_sessions(DATA / "clicks.parquet", embedding=True)
    assert d.X.shape == (9, 12 + 768)
    assert d.feature_names[12] == "emb_0" and d.feature_names[-1] == "emb_767"
    emb = d.X[:, 12:]
    assert emb[:, 0].tolist() == [-j for j in range(9)]  # document j: (-j, j/4, j/4, ...)
    assert np.array_equal(emb[:, 1:], np.repeat(np.arange(9)[:, None] / 4, 767, axis=1))


def test_session_annotations_feather():
    a = load_baidu_ultr_sessions(DATA / "annotations.feather", embedding=True)
    assert a.qid.tolist() == [0, 0, 1, 1, 1]
    assert a.label.tolist() == [3, 0, 2, 0, 4] and a.label.dtype == np.int8
    assert a.position is None and a.click is None
    assert a.X[:, :3].tolist() == [[8, 4, 4], [1, 0.5, 0.5], [2, 1, 1], [0, 0, 0], [6, 3, 3]]
    assert a.X[:, 12].tolist() == [-100, -101, -102, -103, -104]
    assert a.query_columns["frequency_bucket"].tolist() == [0, 7]
    assert a.query_columns["query_md5"].tolist() == ["c3", "d4"]


def test_session_sources_in_memory_and_several_files():
    import pyarrow.parquet as pq

    table = pq.read_table(DATA / "clicks.parquet")
    from_table = load_baidu_ultr_sessions(table)
    from_pandas = load_baidu_ultr_sessions(table.to_pandas())
    for d in (from_table, from_pandas):
        assert d.X.tolist() == CLICK_X and d.position.tolist() == [1, 3, 4, 1, 2, 1, 2, 3, 5]
    two = load_baidu_ultr_sessions([DATA / "clicks.parquet", table])
    assert two.qid.tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5, 5]
    only = load_baidu_ultr_sessions(table, features=["bm25", "tf"], doc_columns=["url_md5"], query_columns=[])
    assert only.X[:, 1].tolist() == [3, 1, 0, 2, 4, 1, 1, 1, 1]
    assert only.doc_columns["url_md5"].tolist()[:3] == ["u00", "u01", "u02"]
    assert only.query_columns == {}


def test_session_errors(tmp_path):
    import pyarrow.parquet as pq

    table = pq.read_table(DATA / "clicks.parquet")
    bad = table.set_column(table.column_names.index("click"), "click",
                           pa.array([[1, 0], [0, 1], [0, 0, 0, 1]], pa.list_(pa.int32())))
    path = tmp_path / "bad.parquet"
    pq.write_table(bad, path)
    with pytest.raises(ValueError, match=r"bad.parquet, session row 0: column 'click' has 2 entries"):
        load_baidu_ultr_sessions(path)
    bad_n = table.set_column(table.column_names.index("n"), "n", pa.array([3, 2, 5], pa.int32()))
    with pytest.raises(ValueError, match=r"session row 2: n=5 but the lists have 4 entries"):
        load_baidu_ultr_sessions(bad_n)
    bad_click = table.set_column(table.column_names.index("click"), "click",
                                 pa.array([[1, 0, 1], [0, 2], [0, 0, 0, 1]], pa.list_(pa.int32())))
    with pytest.raises(ValueError, match=r"session row 1: clicks must be 0 or 1"):
        load_baidu_ultr_sessions(bad_click)
    with pytest.raises(ValueError, match="feature column 'nope' not found"):
        load_baidu_ultr_sessions(table, features=["nope"])
    with pytest.raises(ValueError, match="embedding=True"):
        load_baidu_ultr_sessions(table.drop_columns(["query_document_embedding"]), embedding=True)
    with pytest.raises(TypeError, match="expected a path"):
        load_baidu_ultr_sessions(42)
