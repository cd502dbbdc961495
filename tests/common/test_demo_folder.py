"""A demo replaces only a folder a demo made: never a user's (``demo --run .`` once deleted
the working directory)."""

import importlib

import pytest

from common.errors import RunError
from common.files import DEMO_MARK, claim_demo_folder, publish_dir


def test_a_new_folder_is_made_and_marked(tmp_path):
    folder = claim_demo_folder(tmp_path / "a" / "demo")
    assert sorted(p.name for p in folder.iterdir()) == [DEMO_MARK]


def test_a_folder_an_earlier_demo_made_is_emptied(tmp_path):
    folder = claim_demo_folder(tmp_path / "demo")
    (folder / "sub").mkdir()
    (folder / "sub" / "old.txt").write_text("old")
    claim_demo_folder(folder)
    assert sorted(p.name for p in folder.iterdir()) == [DEMO_MARK]


def test_an_empty_folder_is_taken(tmp_path):
    claim_demo_folder(tmp_path)
    assert (tmp_path / DEMO_MARK).is_file()


@pytest.mark.parametrize("contents", ["file", "folder"])
def test_a_users_folder_is_refused_and_left_whole(tmp_path, contents):
    if contents == "file":
        (tmp_path / "notes.txt").write_text("mine")
    else:
        (tmp_path / "thesis").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(RunError, match="will not replace"):
        claim_demo_folder(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_file_or_link_is_refused(tmp_path):
    (tmp_path / "f").write_text("mine")
    with pytest.raises(RunError, match="not a folder"):
        claim_demo_folder(tmp_path / "f")
    (tmp_path / "link").symlink_to(tmp_path / "f")
    with pytest.raises(RunError, match="not a folder"):
        claim_demo_folder(tmp_path / "link")
    assert (tmp_path / "f").read_text() == "mine"


@pytest.mark.parametrize("tutorial", ["nmt_attention", "transformer", "classify"])
def test_demo_command_on_a_users_folder_exits_2_and_deletes_nothing(tutorial, tmp_path,
                                                                     capsys):
    (tmp_path / "keep.txt").write_text("mine")
    main = importlib.import_module(f"{tutorial}.cli").main
    assert main(["demo", "--run", str(tmp_path)]) == 2
    assert (tmp_path / "keep.txt").read_text() == "mine"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "will not replace" in err[0]


def test_an_export_never_replaces_a_folder_that_is_not_an_export(tmp_path):
    staging, final = tmp_path / "staging", tmp_path / "final"
    staging.mkdir()
    (staging / "saved_model.pb").write_text("new")
    final.mkdir()
    (final / "mine.txt").write_text("mine")
    with pytest.raises(RunError, match="not a SavedModel"):
        publish_dir(staging, final)
    assert (final / "mine.txt").read_text() == "mine"
    (final / "mine.txt").unlink()
    (final / "saved_model.pb").write_text("old")
    publish_dir(staging, final)
    assert (final / "saved_model.pb").read_text() == "new"
