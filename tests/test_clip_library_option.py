"""--library DIR: a protocol's clips come from its own videos/, then the library, then the
shipped clips (a copied protocol still finds them)."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from rehab.cli import main
from rehab.errors import ProtocolError, RehabError
from rehab.paths import shipped_videos_dir
from rehab.runner import load_protocol_file
from rehab.store import Store

PROTO = """\
name: Watch one clip
description: observe only
steps:
  - observe: {clip: CLIP}
"""


def _proto(folder, clip="open_close.mp4"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "watch.yaml"
    path.write_text(PROTO.replace("CLIP", clip))
    return path


def _copy_clip(folder, stem="open_close"):
    folder.mkdir(parents=True, exist_ok=True)
    for f in shipped_videos_dir().glob(f"{stem}.*"):
        shutil.copy(f, folder / f.name)
    return folder


def test_a_copied_protocol_finds_the_shipped_clips(tmp_path):
    loaded = load_protocol_file(_proto(tmp_path / "elsewhere"))
    assert loaded.videos_dir == shipped_videos_dir().resolve()


def test_library_comes_before_the_shipped_clips_and_own_videos_before_both(tmp_path):
    proto = _proto(tmp_path / "p")
    lib = _copy_clip(tmp_path / "lib")
    assert load_protocol_file(proto, lib).videos_dir == lib.resolve()
    own = _copy_clip(tmp_path / "p" / "videos")
    assert load_protocol_file(proto, lib).videos_dir == own.resolve()


def test_a_clip_nowhere_names_every_folder_looked_in(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    with pytest.raises(ProtocolError) as err:
        load_protocol_file(_proto(tmp_path / "p", "nosuch.mp4"), lib)
    assert str(lib.resolve()) in err.value.hint and "--library DIR" in err.value.hint
    assert [i.code for i in err.value.issues] == ["P008"]
    with pytest.raises(RehabError, match="is not a folder"):
        load_protocol_file(_proto(tmp_path / "p"), tmp_path / "missing")


def test_run_with_library_option(tmp_path):
    proto = _proto(tmp_path / "p")
    lib = _copy_clip(tmp_path / "lib")
    Store().add_patient("P1", "left")
    result = CliRunner().invoke(main, ["run", str(proto), "--patient", "P1", "--autopilot",
                                       "--fast", "--window", "--library", str(lib)])
    assert result.exit_code == 0, result.output
    assert "completed" in result.output
