"""The export's Arrow paths (rehab.report.columnar) give what the plain pandas path gives:
the same columns in the same order and the same values, in the DataFrame and in the CSV read
back with pandas, on stores the real scorer filled; and they step aside (None) where they could
not."""

from __future__ import annotations

import io
import json
import random
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rehab.report import columnar
from rehab.report.export import export_both, key_order, metric_frame, write_csv
from rehab.report.review import build_review
from rehab.store import Store
from rehab.testing.store_data import bulk_populate, fake_info, hand_frames, real_score


def _plain_pandas(monkeypatch) -> None:
    """Make the export take its pandas path (the paths' own contract: None means 'use pandas')."""
    monkeypatch.setattr(columnar, "metric_table", lambda texts, skip=(): None)
    monkeypatch.setattr(columnar, "csv_bytes", lambda df: None)


def _read_back(path) -> pd.DataFrame:
    return pd.read_csv(path, float_precision="round_trip", low_memory=False)


def _missing_as_nan(df: pd.DataFrame) -> pd.DataFrame:
    """None and NaN both mean 'no value' (json_normalize gives None for a key present as null
    and NaN for an absent one; Arrow cannot tell them apart): compare them as one."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].where(out[c].notna(), np.nan)
    return out


def _same_values(fast: pd.DataFrame, plain: pd.DataFrame) -> None:
    assert list(fast.columns) == list(plain.columns)
    fast, plain = _missing_as_nan(fast), _missing_as_nan(plain)
    pd.testing.assert_frame_equal(fast, plain, check_dtype=False, check_column_type=False)


def _review(store) -> str:
    page = build_review(store, "P001", today=date(2025, 6, 1))
    return re.sub(r"Report made [0-9: -]+\.", "", page)


@pytest.fixture
def realistic(tmp_path):
    """A store with bulk sessions (real scores) and written sessions whose first trials have no
    smoothness and no demonstration (similarity None), a failed trial and a validity warning:
    the cases where a nested key is first seen as None."""
    store = Store(tmp_path / "data")
    store.add_patient("P001", "left")
    rng = random.Random(3)
    w = store.writer()
    w.begin(fake_info("P001"))
    for i, task in enumerate(["finger_tap", "opposition", "open_close", "reach_grasp", "free"]):
        score = real_score(task, "left", rng, progress=i / 4)
        if i < 2:
            score["similarity"] = None  # no demonstration in this step
        if task == "reach_grasp":
            score["validity"]["warnings"] = ["few frames, 12 fps", 'a "quoted" one']
            score["touch_times_s"] = [1, 2.5]  # whole numbers as the JSON wrote them
        w.trial(i + 1, task, "left", score, hand_frames(10, "left"))
    w.trial(6, "finger_tap", "left", {"task": "finger_tap", "hand": "left", "frames": 0,
                                      "repetitions": 0, "error": "=no hand seen"}, [])
    w.end("completed")
    bulk_populate(store.engine, "P001", n_sessions=8, trials_per_session=10, seed=5)
    yield store
    store.close()


def test_fast_export_equals_the_pandas_path_on_real_scores(realistic, tmp_path, monkeypatch):
    texts = pd.read_sql("SELECT score_json FROM trials ORDER BY id",
                        realistic.engine)["score_json"].tolist()
    whole = columnar.metric_table(texts)
    assert whole is not None  # real scores take the Arrow path
    for parts in (2, 5):  # runs parsed in threads (every 2,000 trials): the same table
        pd.testing.assert_frame_equal(columnar.metric_table(texts, parts=parts), whole)
    trials, sessions = export_both(realistic, "P001")
    write_csv(trials, tmp_path / "fast.csv")
    write_csv(sessions, tmp_path / "fast_summary.csv")
    review = _review(realistic)
    _plain_pandas(monkeypatch)
    plain_trials, plain_sessions = export_both(realistic, "P001")
    write_csv(plain_trials, tmp_path / "plain.csv")
    write_csv(plain_sessions, tmp_path / "plain_summary.csv")
    assert review == _review(realistic)  # the same tables and plots, to the byte

    _same_values(trials, plain_trials)
    _same_values(sessions, plain_sessions)
    assert len(trials) == 86 and len(trials.columns) == len(plain_trials.columns)
    _same_values(_read_back(tmp_path / "fast.csv"), _read_back(tmp_path / "plain.csv"))
    _same_values(_read_back(tmp_path / "fast_summary.csv"),
                 _read_back(tmp_path / "plain_summary.csv"))
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()
    assert (tmp_path / "fast_summary.csv").read_bytes() == \
        (tmp_path / "plain_summary.csv").read_bytes()
    written = trials[trials["session_id"] == trials["session_id"].iloc[-1]]  # the latest
    assert len(written) == 6
    first = written.iloc[0]
    assert pd.isna(first["similarity.score"]) and pd.isna(first["smoothness.sparc"])
    # nested keys stand where their parent is in the score: rom, smoothness, quality, similarity
    cols = list(trials.columns)
    assert (cols.index("rom.little_dip.exceeds_limit") < cols.index("smoothness.sparc")
            < cols.index("quality.tracked_fraction") < cols.index("similarity.score")
            < cols.index("validity.warnings"))
    warned = written[written["task"] == "reach_grasp"].iloc[0]
    assert warned["validity.warnings"] == '["few frames, 12 fps", "a \\"quoted\\" one"]'
    assert warned["touch_times_s"] == "[1, 2.5]"
    text = (tmp_path / "fast.csv").read_text()
    assert "'=no hand seen" in text and '"=no' not in text and ",=no" not in text


def test_first_seen_order_puts_nested_keys_in_their_parents_place():
    dicts = [{"a": 1, "s": None, "b": 2}, {"t": {"y": 1}, "a": 1, "s": {"x": 1, "z": 2}},
             {"s": {"w": 0, "x": 1}, "c": 3}]
    assert key_order(dicts) == ["a", "s", "s.x", "s.z", "s.w", "b", "t", "t.y", "c"]
    assert list(metric_frame(dicts).columns) == ["a", "s.x", "s.z", "s.w", "b", "t.y", "c"]
    texts = [json.dumps(d) for d in dicts]
    for parts in (1, 2, 3):  # parsed in runs (threads): each run's new keys in their place
        assert (list(columnar.metric_table(texts, parts=parts).columns)
                == list(metric_frame(dicts).columns))


# Score-like dicts: a few keys, each of one kind of value, nested dicts that may be None.
_LEAF = st.sampled_from(["int", "float", "bool", "text", "list", "none"])
_KEYS = st.lists(st.sampled_from("abcdef"), min_size=1, max_size=5, unique=True)


def _value(kind: str, draw) -> object:
    return {
        "int": lambda: draw(st.integers(-10**6, 10**6)),
        "float": lambda: draw(st.floats(allow_nan=False, allow_infinity=False, width=64)),
        "bool": lambda: draw(st.booleans()),
        "text": lambda: draw(st.text(max_size=6)),
        "list": lambda: draw(st.lists(st.floats(-1e6, 1e6) | st.integers(0, 9), max_size=3)),
        "none": lambda: None,
    }[kind]()


@st.composite
def _score_dicts(draw):
    top = {k: draw(_LEAF) for k in draw(_KEYS)}
    nested = {k: {c: draw(_LEAF) for c in draw(_KEYS)} for k in draw(st.lists(
        st.sampled_from(["rom", "sim"]), max_size=2, unique=True))}
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        row: dict = {k: _value(kind, draw) for k, kind in top.items() if draw(st.booleans())}
        for k, kids in nested.items():
            if draw(st.booleans()):
                row[k] = None if draw(st.booleans()) else {c: _value(kind, draw)
                                                          for c, kind in kids.items()}
        rows.append(row)
    return rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_score_dicts())
def test_metric_table_equals_metric_frame_or_steps_aside(dicts):
    texts = [json.dumps(d, separators=(",", ":")) for d in dicts]
    plain = metric_frame(json.loads("[" + ",".join(texts) + "]"))
    whole = columnar.metric_table(texts, parts=1)
    for parts in (1, 2, 3):  # one parse, or runs of trials parsed in threads and merged
        fast = columnar.metric_table(texts, parts=parts)
        # None (the pandas path) for both or neither: e.g. a key that is text in one row
        # and a number in another
        assert (fast is None) == (whole is None)
        if fast is not None:
            _same_values(fast, plain)


def test_csv_bytes_writes_what_to_csv_writes(tmp_path):
    df = pd.DataFrame({
        "f": [3.0, 1e-5, 1e16, -0.0, 2.5e-7, np.nan, float("inf"), 12345678901.25],
        "i": pd.array([1, None, 3, 4, 5, 6, 7, -8], dtype="Int64"),
        "b": [True, False, True, True, False, False, True, True],
        "ob": [True, None, False, np.nan, True, True, True, True],
        "s": pd.Series(["a,b", 'q"x', "line\nbreak", "", None, "ü", "  ", "=1"], dtype="str"),
    })
    fast = columnar.csv_bytes(df)
    assert fast == df.to_csv(index=False).encode("utf-8")
    assert fast.splitlines()[1] == b'3.0,1,True,True,"a,b"'
    rng = np.random.default_rng(0)  # every magnitude: Arrow and repr differ in notation
    floats = pd.DataFrame({"x": rng.standard_normal(4000) * 10.0 ** rng.integers(-20, 25, 4000),
                           "y": [round(v, d) for v, d in zip(rng.random(4000) * 100,
                                                             rng.integers(0, 4, 4000).tolist(),
                                                             strict=True)],
                           "z": np.arange(4000) / 7})
    for parts in (1, 2, 7):  # rows formatted in runs, one thread each: the same text
        assert columnar.csv_bytes(floats, parts=parts) == floats.to_csv(index=False).encode()
        assert columnar.csv_bytes(df, parts=parts) == df.to_csv(index=False).encode("utf-8")


def test_csv_bytes_steps_aside_for_types_it_would_write_differently():
    assert columnar.csv_bytes(pd.DataFrame({"d": pd.to_datetime(["2025-01-06"])})) is None
    assert columnar.csv_bytes(pd.DataFrame({"m": ["x", 1.5]}, dtype=object)) is None
    assert columnar.csv_bytes(pd.DataFrame({"a": [1], "b": [2]}).set_axis([0, 1], axis=1)) is None
    assert columnar.csv_bytes(pd.DataFrame({"only": [""]})) is None  # to_csv writes ""
    assert columnar.csv_bytes(pd.DataFrame(columns=["a", "b"])) == b"a,b\n"


def test_metric_table_steps_aside_where_arrow_reads_differently():
    assert columnar.metric_table(['{"a":1}', '{"a":"x"}']) is None  # number, then text
    assert columnar.metric_table(['{"a":{"b":1}}', '{"a":2}']) is None  # object, then number
    assert columnar.metric_table(['{"a.b":1,"a":{"b":2}}']) is None  # the same column twice
    assert columnar.metric_table(['{"a":\n1}']) is None  # one text on two lines
    assert columnar.metric_table([]) is None
    df = columnar.metric_table(['{"task":"t","a":1,"l":[]}', '{"a":2.5,"l":null}'],
                               skip={"task"})
    assert list(df.columns) == ["a", "l"] and df["a"].tolist() == [1.0, 2.5]
    assert df["l"].iloc[0] == "[]" and pd.isna(df["l"].iloc[1])


def test_stdout_gets_the_same_csv_as_a_file(realistic, tmp_path, capsys):
    trials, _ = export_both(realistic, "P001")
    write_csv(trials, tmp_path / "t.csv")
    write_csv(trials, None)
    assert capsys.readouterr().out == (tmp_path / "t.csv").read_text()
    _same_values(pd.read_csv(io.StringIO((tmp_path / "t.csv").read_text()),
                             float_precision="round_trip", low_memory=False),
                 _read_back(tmp_path / "t.csv"))
