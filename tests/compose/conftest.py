"""The Docker Compose stack, built and run for real (`make test-compose`).

These tests need a Docker engine and take minutes, so they run only when
TROVE_TEST_COMPOSE=1 (the make target sets it). They share one compose project, brought up
from a clean state by the installer; the figures they measure are printed at the end.
Where no registry is reachable (`make test-compose` without TROVE_OFFICIAL_IMAGES=1) the
base images are Debian stand-ins, the database a MariaDB one: MySQL 8.4 itself is not run."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from installer.compose import Stack, compose_command
from installer.install import SECRETS
from tests.support.net import free_port

ENABLED = os.environ.get("TROVE_TEST_COMPOSE") == "1"
FIGURES: dict[str, str] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if ENABLED:
        return
    skip = pytest.mark.skip(reason="needs Docker: run with `make test-compose`")
    for item in items:
        if "tests/compose/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("compose stack figures")
    width = max(map(len, FIGURES))
    for name, value in FIGURES.items():
        terminalreporter.write_line(f"{name:<{width}}  {value}")


@dataclass
class Deployment:
    stack: Stack
    env_file: Path
    port: int
    admin: str = "admin"
    password: str = ""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def built_images(project: str) -> dict[str, str]:
    """Image name → id of the images compose built for the project (v1 and v2 names)."""
    names = [f"{project}{sep}{service}" for sep in "_-" for service in ("backend", "compressor")]
    found = {}
    for name in names:
        done = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", name],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0:
            found[name] = done.stdout.strip()
    return found


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """A clean compose project (no containers, no volumes), removed with its volumes after.
    Built images stay so that later runs reuse the layer cache; TROVE_COMPOSE_COLD=1 first
    builds them again from nothing but the base images, and times that."""
    work = tmp_path_factory.mktemp("compose")
    project = os.environ.get("TROVE_COMPOSE_PROJECT", "trove-compose-test")
    command = tuple(compose_command())
    leftovers = work / "leftovers.env"  # compose needs the secrets set even to tear down
    leftovers.write_text("".join(f"{name}=x\n" for name in SECRETS))
    Stack(leftovers, project, command).run("down", "-v", "--remove-orphans", check=False)
    before = built_images(project)
    if os.environ.get("TROVE_COMPOSE_COLD") == "1":
        started = time.monotonic()
        built = Stack(leftovers, project, command).build("--no-cache")
        assert built.returncode == 0, (built.stdout + built.stderr)[-3000:]
        FIGURES["cold build (--no-cache)"] = f"{time.monotonic() - started:.0f} s"
    env_file = work / ".env"
    stack = Stack(env_file, project, command)
    yield Deployment(stack, env_file, free_port())
    stack.run("down", "-v", "--remove-orphans", check=False)
    replaced = [old for name, old in before.items() if built_images(project).get(name) != old]
    if replaced:
        subprocess.run(["docker", "rmi", *replaced], capture_output=True, check=False)
