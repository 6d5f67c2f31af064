"""How the installer asks Compose to build the images (no Docker needed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from installer import compose
from installer.compose import Stack


@pytest.mark.parametrize(
    ("command", "parallel"),
    [(("docker-compose",), ["--parallel"]), (("docker", "compose"), [])],
)
def test_images_are_built_side_by_side_by_either_compose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...], parallel: list[str]
) -> None:
    """docker-compose 1.x builds one image after the other unless told `--parallel`;
    Compose v2 builds in parallel by itself, and some of its versions refuse the flag."""
    calls: list[list[str]] = []

    def run(argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(compose.subprocess, "run", run)
    Stack(tmp_path / ".env", "p", command).build("--no-cache")
    env, compose_file = str(tmp_path / ".env"), str(compose.COMPOSE_FILE)
    expected = [*command, "--env-file", env, "-p", "p", "-f", compose_file]
    assert calls == [[*expected, "build", *parallel, "--no-cache"]]
