"""Mirroring a local folder tree onto the server."""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from desktop_app.api import ApiClient
from desktop_app.errors import ApiError, TroveError, describe_os_error
from desktop_app.formatting import displayable, is_utf8


@dataclass
class TreePlan:
    """A local folder walked once: folders parent-first, files with their folder.

    Paths in ``folders`` and the folder of each file are relative to the walked
    folder's *parent*, so the walked folder itself is ``folders[0]`` (unless its own
    name is a problem: then the plan holds only that problem).
    """

    folders: list[PurePosixPath] = field(default_factory=list)
    files: list[tuple[Path, PurePosixPath]] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)


def name_problem(path: str | os.PathLike[str], *, folder: bool = False) -> str | None:
    """Why the server cannot take the name of ``path`` as is, or None.

    Only what the client must catch itself: a name whose bytes are not UTF-8 cannot even
    be sent (or kept in the queue's text columns). The server judges every other rule.
    """
    name = os.path.basename(os.fspath(path))
    if is_utf8(name):
        return None
    if folder:
        return (
            f"The name {displayable(name)} is not valid UTF-8, so the server cannot store it "
            "and nothing in this folder was uploaded. Rename the folder and try again."
        )
    return (
        f"The name {displayable(name)} is not valid UTF-8, so the server cannot store it. "
        "Rename the file and try again."
    )


def plan_tree(root: str | os.PathLike[str]) -> TreePlan:
    """Walk ``root`` without following links to folders (no loops, no escaping).

    Files and folders whose names cannot go to the server become problems; such a
    folder is not walked.
    """
    root = Path(root)
    problem = name_problem(root, folder=True)
    if problem:
        return TreePlan(problems=[(root, problem)])
    plan = TreePlan()
    top = PurePosixPath(root.name)
    plan.folders.append(top)
    pending: list[tuple[Path, PurePosixPath]] = [(root, top)]
    while pending:
        local, remote = pending.pop(0)
        try:
            with os.scandir(local) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            plan.problems.append((local, describe_os_error(exc)))
            continue
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    problem = name_problem(path, folder=True)
                    if problem:
                        plan.problems.append((path, problem))
                    else:
                        subfolders.append((path, remote / entry.name))
                elif entry.is_file(follow_symlinks=True):
                    problem = name_problem(path)
                    if problem:
                        plan.problems.append((path, problem))
                    else:
                        plan.files.append((path, remote))
                elif entry.is_symlink():
                    shown = displayable(str(path))
                    plan.problems.append((path, f"{shown} is a link to a folder; skipped."))
            except OSError as exc:
                plan.problems.append((path, describe_os_error(exc)))
        for path, child in subfolders:
            plan.folders.append(child)
            pending.append((path, child))
    return plan


def _same_name(a: str, b: str) -> bool:
    return unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b)


class RemoteFolders:
    """Finds or creates folders on the server, remembering what it has seen."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api
        self._known: dict[tuple[int | None, str], int] = {}

    def ensure(self, name: str, parent: int | None) -> int:
        """The id of folder ``name`` in ``parent``, created unless it already exists."""
        key = (parent, unicodedata.normalize("NFC", name))
        if key in self._known:
            return self._known[key]
        try:
            folder_id = self.api.create_folder(name, parent).id
        except ApiError as exc:
            if exc.code != "name_taken":
                raise
            folder_id = self._find(name, parent)
        self._known[key] = folder_id
        return folder_id

    def _find(self, name: str, parent: int | None) -> int:
        for item in self.api.iter_folder(parent):
            if _same_name(item.name, name):
                if item.is_folder:
                    return item.id
                raise TroveError(
                    "name_taken",
                    f"A file named {name} is in the way of the folder {name}. "
                    "Rename one of them and try again.",
                )
        raise TroveError(
            "folder_not_found", f"The folder {name} exists but could not be found. Try again."
        )

    def ensure_plan(
        self, plan: TreePlan, parent: int | None
    ) -> tuple[dict[PurePosixPath, int], dict[PurePosixPath, str]]:
        """Create every folder of ``plan`` under ``parent``.

        Returns the ids of the folders made or found, and for the others the reason
        (a folder that failed takes everything below it along).
        """
        ids: dict[PurePosixPath, int] = {}
        failed: dict[PurePosixPath, str] = {}
        for folder in plan.folders:
            up = folder.parent
            if up in failed:
                failed[folder] = failed[up]
                continue
            try:
                ids[folder] = self.ensure(folder.name, ids.get(up, parent))
            except TroveError as exc:
                failed[folder] = f"Could not create the folder {folder}: {exc.detail}"
        return ids, failed
