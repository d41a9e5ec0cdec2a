"""Write the tiny Baidu-ULTR session-table fixtures used by tests/test_datasets_baidu.py.

The values below are written by hand in the layout of the Hugging Face
``philipphager/baidu-ultr_*`` tables (Hager et al., SIGIR 2024): one row per
session (clicks) or annotated query (annotations), per-document columns as
lists of equal length ``n``, the 768-d ``query_document_embedding`` as
float16. The click table spells two features the way the loader script does
(``title_bm25``, ``abstract_bm25``), the annotation table the way the
paper's code does (``bm25_title``, ``bm25_abstract``).

Run from the repository root: ``python tests/data/baidu_ultr/make_session_tables.py``.
The test expects exactly these values; change both together.
"""
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
DIM = 768


def embedding(first_doc, n):
    """Document j (numbered over the file) gets the vector (-j, j/4, j/4, ...)."""
    rows = []
    for j in range(first_doc, first_doc + n):
        v = np.full(DIM, j / 4, dtype=np.float16)
        v[0] = -j
        rows.append(v)
    return rows


def lexical(rows):
    """Hand-written lexical features: one tuple of 12 values per document."""
    cols = list(zip(*rows))
    return [list(c) for c in cols]


def main():
    # ---- clicks: 3 sessions with 3, 2 and 4 documents -----------------------------
    sessions = [
        # query_id, query_md5, position, click, media_type, displayed_time, serp_height, slipoff, lexical rows
        ("1001", "a1", [1, 3, 4], [1, 0, 1], [0, 2, 0], [3.5, 0.0, 12.125], [144, 120, 130], [0, 0, 2],
         [(12.5, 7.25, 5.0, 0.5, 3, 1.5, -4.25, -5.5, -6.0, 40, 8, 32),
          (9.0, 0.0, 9.0, 0.25, 1, 2.0, -7.0, -7.5, -8.0, 55, 10, 45),
          (0.0, 0.0, 0.0, 0.0, 0, 0.0, -9.0, -9.5, -10.0, 30, 6, 24)]),
        ("2002", "b2", [1, 2], [0, 1], [0, 5], [0.0, 0.75], [100, 110], [0, 1],
         [(3.0, 1.0, 2.0, 0.125, 2, 0.75, -3.0, -3.5, -4.0, 20, 4, 16),
          (4.5, 2.5, 2.0, 0.375, 4, 0.75, -2.0, -2.5, -3.0, 22, 5, 17)]),
        ("1001", "a1", [1, 2, 3, 5], [0, 0, 0, 1], [3, 0, 0, 1], [4.0, 1.0, 2.0, 8.5], [90, 80, 70, 60],
         [0, 0, 0, 0],
         [(1.0, 1.0, 0.0, 0.0625, 1, 1.0, -1.0, -1.5, -2.0, 10, 2, 8),
          (2.0, 0.0, 2.0, 0.0625, 1, 1.0, -1.25, -1.75, -2.25, 11, 3, 8),
          (3.0, 1.5, 1.5, 0.0625, 1, 1.0, -1.5, -2.0, -2.5, 12, 4, 8),
          (4.0, 2.0, 2.0, 0.0625, 1, 1.0, -1.75, -2.25, -2.75, 13, 5, 8)]),
    ]
    names = ["bm25", "title_bm25", "abstract_bm25", "tf_idf", "tf", "idf", "ql_jelinek_mercer_short",
             "ql_jelinek_mercer_long", "ql_dirichlet", "document_length", "title_length", "abstract_length"]
    int_features = {"document_length", "title_length", "abstract_length"}
    data = {name: [] for name in names}
    cols = {k: [] for k in ("query_id", "query_md5", "n", "position", "click", "media_type", "displayed_time",
                            "serp_height", "slipoff_count_after_click", "url_md5", "query_document_embedding",
                            "query_length")}
    doc = 0
    for s, (qid, md5, pos, click, media, dt, height, slip, lex) in enumerate(sessions):
        n = len(pos)
        cols["query_id"].append(qid)
        cols["query_md5"].append(md5)
        cols["n"].append(n)
        cols["position"].append(pos)
        cols["click"].append(click)
        cols["media_type"].append(media)
        cols["displayed_time"].append(dt)
        cols["serp_height"].append(height)
        cols["slipoff_count_after_click"].append(slip)
        cols["url_md5"].append([f"u{s}{k}" for k in range(n)])
        cols["query_document_embedding"].append(embedding(doc, n))
        cols["query_length"].append(3 + s)
        for name, values in zip(names, lexical(lex)):
            data[name].append(values)
        doc += n
    emb_type = pa.list_(pa.list_(pa.float16()))
    table = pa.table({
        "query_id": pa.array(cols["query_id"], pa.string()),
        "query_md5": pa.array(cols["query_md5"], pa.string()),
        "n": pa.array(cols["n"], pa.int32()),
        "url_md5": pa.array(cols["url_md5"], pa.list_(pa.string())),
        "query_document_embedding": pa.array([[list(v) for v in e] for e in cols["query_document_embedding"]],
                                             emb_type),
        "click": pa.array(cols["click"], pa.list_(pa.int32())),
        "position": pa.array(cols["position"], pa.list_(pa.int32())),
        "media_type": pa.array(cols["media_type"], pa.list_(pa.int32())),
        "displayed_time": pa.array(cols["displayed_time"], pa.list_(pa.float32())),
        "serp_height": pa.array(cols["serp_height"], pa.list_(pa.int32())),
        "slipoff_count_after_click": pa.array(cols["slipoff_count_after_click"], pa.list_(pa.int32())),
        **{name: pa.array(data[name], pa.list_(pa.int32() if name in int_features else pa.float32()))
           for name in names},
        "query_length": pa.array(cols["query_length"], pa.int32()),
    })
    pq.write_table(table, HERE / "clicks.parquet")

    # ---- annotations: 2 queries with 2 and 3 documents ----------------------------
    ann_names = [n.replace("title_bm25", "bm25_title").replace("abstract_bm25", "bm25_abstract") for n in names]
    ann = [
        ("3001", "c3", [3, 0], 0,
         [(8.0, 4.0, 4.0, 1.0, 2, 4.0, -1.0, -2.0, -3.0, 9, 3, 6),
          (1.0, 0.5, 0.5, 0.5, 1, 2.0, -4.0, -5.0, -6.0, 7, 2, 5)]),
        ("3001", "d4", [2, 0, 4], 7,
         [(2.0, 1.0, 1.0, 0.25, 1, 1.0, -2.0, -2.0, -2.0, 5, 1, 4),
          (0.0, 0.0, 0.0, 0.0, 0, 0.0, -8.0, -8.0, -8.0, 6, 2, 4),
          (6.0, 3.0, 3.0, 0.75, 3, 2.0, -0.5, -0.5, -0.5, 8, 2, 6)]),
    ]
    a_data = {name: [] for name in ann_names}
    a_cols = {k: [] for k in ("query_id", "query_md5", "n", "label", "frequency_bucket", "emb")}
    doc = 0
    for qid, md5, labels, bucket, lex in ann:
        n = len(labels)
        a_cols["query_id"].append(qid)
        a_cols["query_md5"].append(md5)
        a_cols["n"].append(n)
        a_cols["label"].append(labels)
        a_cols["frequency_bucket"].append(bucket)
        a_cols["emb"].append(embedding(100 + doc, n))
        for name, values in zip(ann_names, lexical(lex)):
            a_data[name].append(values)
        doc += n
    a_table = pa.table({
        "query_id": pa.array(a_cols["query_id"], pa.string()),
        "query_md5": pa.array(a_cols["query_md5"], pa.string()),
        "n": pa.array(a_cols["n"], pa.int32()),
        "label": pa.array(a_cols["label"], pa.list_(pa.int32())),
        "frequency_bucket": pa.array(a_cols["frequency_bucket"], pa.int32()),
        "query_document_embedding": pa.array([[list(v) for v in e] for e in a_cols["emb"]],
                                             pa.list_(pa.list_(pa.float16(), DIM))),
        **{name: pa.array(a_data[name], pa.list_(pa.int32() if name in int_features or name in
                                                 ("document_length", "title_length", "abstract_length")
                                                 else pa.float32()))
           for name in ann_names},
    })
    feather.write_feather(a_table, HERE / "annotations.feather", compression="uncompressed")


if __name__ == "__main__":
    main()
