"""Planning the mirror of a local folder tree."""

from __future__ import annotations

import os
from pathlib import PurePosixPath as P

import pytest

from desktop_app.folders import plan_tree


def _tree(root):
    (root / "album" / "2023" / "summer").mkdir(parents=True)
    (root / "album" / "empty").mkdir()
    (root / "album" / "cover.jpg").write_bytes(b"c")
    (root / "album" / "2023" / "a.png").write_bytes(b"a")
    (root / "album" / "2023" / "summer" / "beach.jpg").write_bytes(b"b")
    return root / "album"


def test_folders_come_parent_first_and_files_know_their_folder(tmp_path):
    plan = plan_tree(_tree(tmp_path))
    assert plan.folders == [
        P("album"),
        P("album/2023"),
        P("album/empty"),
        P("album/2023/summer"),
    ]
    files = {path.relative_to(tmp_path).as_posix(): folder for path, folder in plan.files}
    assert files == {
        "album/cover.jpg": P("album"),
        "album/2023/a.png": P("album/2023"),
        "album/2023/summer/beach.jpg": P("album/2023/summer"),
    }
    assert plan.problems == []
    for folder in plan.folders[1:]:
        assert plan.folders.index(folder.parent) < plan.folders.index(folder)


def test_links_to_folders_are_not_followed(tmp_path):
    album = _tree(tmp_path)
    os.symlink(album, album / "loop")
    (tmp_path / "outside.txt").write_text("x")
    os.symlink(tmp_path / "outside.txt", album / "link.txt")
    plan = plan_tree(album)
    assert P("album/loop") not in plan.folders
    assert [p.name for p, _ in plan.problems] == ["loop"]
    assert "link.txt" in {path.name for path, _ in plan.files}  # a link to a file is a file


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_unreadable_folder_is_a_problem_not_a_crash(tmp_path):
    album = _tree(tmp_path)
    locked = album / "2023"
    locked.chmod(0)
    try:
        plan = plan_tree(album)
    finally:
        locked.chmod(0o755)
    assert [(p.name, "permission denied" in reason) for p, reason in plan.problems] == [
        ("2023", True)
    ]
    assert {path.name for path, _ in plan.files} == {"cover.jpg"}


def test_names_that_are_not_utf8_are_problems_and_are_not_walked(tmp_path):
    album = _tree(tmp_path)
    bad_file = album / os.fsdecode(b"bad\xffname.jpg")
    bad_file.write_bytes(b"x")
    bad_folder = album / "2023" / os.fsdecode(b"caf\xe9")
    bad_folder.mkdir()
    (bad_folder / "inside.jpg").write_bytes(b"i")
    plan = plan_tree(album)
    problems = dict(plan.problems)
    assert set(problems) == {bad_file, bad_folder}
    assert "bad\ufffdname.jpg is not valid UTF-8" in problems[bad_file]
    assert "Rename the file" in problems[bad_file]
    assert "caf\ufffd is not valid UTF-8" in problems[bad_folder]
    assert "Rename the folder" in problems[bad_folder]
    assert all(reason.encode("utf-8") for reason in problems.values())  # storable text
    assert {path.name for path, _ in plan.files} == {"cover.jpg", "a.png", "beach.jpg"}
    assert all(folder.name != bad_folder.name for folder in plan.folders)


def test_a_walked_folder_whose_own_name_is_not_utf8_is_one_problem(tmp_path):
    album = _tree(tmp_path)
    bad = album.rename(tmp_path / os.fsdecode(b"\xe4lbum"))
    plan = plan_tree(bad)
    assert (plan.folders, plan.files) == ([], [])
    assert [path for path, _ in plan.problems] == [bad]


def test_a_path_above_the_walked_folder_may_be_anything(tmp_path):
    outer = tmp_path / os.fsdecode(b"f\xfcr Oma")
    outer.mkdir()
    album = _tree(outer)
    plan = plan_tree(album)
    assert plan.problems == []
    assert len(plan.files) == 3 and plan.folders[0] == P("album")
