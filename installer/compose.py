"""Drive the Docker Compose stack: find the compose command, run it, wait until healthy.

Works with Compose v2 (`docker compose`) and the older `docker-compose` 1.27+; standard
library only, so the installer runs on any machine with Python 3.11 and Docker."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SERVICES = ("db", "compressor", "backend")


class ComposeError(RuntimeError):
    """Docker or Compose is missing, or a compose command failed."""


def compose_command() -> list[str]:
    """`docker compose` when the v2 plugin answers, else `docker-compose`."""
    if shutil.which("docker") is None:
        raise ComposeError("docker is not installed: see https://docs.docker.com/engine/install/")
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if probe.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise ComposeError(
        "Docker Compose is not installed: install the docker-compose-plugin package "
        "(or docker-compose) and run this again"
    )


def check_engine() -> None:
    done = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1:] or ["no answer"]
        raise ComposeError(
            f"the Docker engine does not answer ({detail[0]}); start it, or run this as a "
            "user allowed to use Docker"
        )


@dataclass(frozen=True)
class Stack:
    """One compose project: the repository's compose file with an env file and a name."""

    env_file: Path
    project: str = "trove"
    command: tuple[str, ...] = ()

    def argv(self, *args: str) -> list[str]:
        command = list(self.command) or compose_command()
        return [
            *command,
            "--env-file",
            str(self.env_file),
            "-p",
            self.project,
            "-f",
            str(COMPOSE_FILE),
            *args,
        ]

    def run(
        self, *args: str, check: bool = True, capture: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.argv(*args),
            cwd=REPO_ROOT,
            input=stdin,
            capture_output=capture,
            text=True,
            check=False,
        )
        if check and done.returncode != 0:
            output = ((done.stdout or "") + (done.stderr or "")).strip()
            raise ComposeError(f"`{' '.join(args)}` failed:\n{output}")
        return done

    def build(self, *args: str, capture: bool = True) -> subprocess.CompletedProcess[str]:
        """Build the images side by side: Compose v2 does so by itself, docker-compose 1.x
        only when asked (and `up --build` never), which costs a cold build minutes."""
        command = list(self.command) or compose_command()
        parallel = ["--parallel"] if Path(command[0]).name == "docker-compose" else []
        return self.run("build", *parallel, *args, capture=capture, check=False)

    def container(self, service: str) -> str | None:
        """The id of the service's container (running or not), or None."""
        ids = self.run("ps", "-a", "-q", service, check=False).stdout.split()
        return ids[0] if ids else None

    def state(self, service: str) -> dict[str, object]:
        cid = self.container(service)
        if cid is None:
            return {}
        done = subprocess.run(
            ["docker", "inspect", "--format", "{{json .State}}", cid],
            capture_output=True,
            text=True,
            check=False,
        )
        return json.loads(done.stdout) if done.returncode == 0 else {}

    def health(self, service: str) -> str:
        """`healthy`, `starting`, `unhealthy`, `exited`, `restarting` or `missing`."""
        state = self.state(service)
        if not state:
            return "missing"
        if state.get("Restarting"):
            return "restarting"
        if not state.get("Running"):
            return "exited"
        health = state.get("Health")
        return str(health.get("Status")) if isinstance(health, dict) else "running"

    def published_port(self, service: str, container_port: int) -> int | None:
        """The host port a running service publishes `container_port` on, if any."""
        cid = self.container(service)
        if cid is None:
            return None
        done = subprocess.run(
            ["docker", "port", cid, str(container_port)],
            capture_output=True,
            text=True,
            check=False,
        )
        ports = [line.rpartition(":")[2] for line in done.stdout.split()]
        return int(ports[0]) if done.returncode == 0 and ports and ports[0].isdigit() else None

    def wait_healthy(self, services: Sequence[str] = SERVICES, timeout: float = 300.0) -> float:
        """Seconds until every service is healthy; ComposeError with logs otherwise."""
        start = time.monotonic()
        while True:
            states = {s: self.health(s) for s in services}
            if all(v == "healthy" for v in states.values()):
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                failing = [s for s, v in states.items() if v != "healthy"]
                logs = self.run("logs", "--tail", "30", *failing, check=False).stdout
                summary = ", ".join(f"{s}: {v}" for s, v in states.items())
                raise ComposeError(
                    f"not healthy after {timeout:.0f} s ({summary}); last log lines:\n{logs}"
                )
            time.sleep(0.5)

    def logs(self, service: str) -> str:
        done = self.run("logs", "--no-color", service, check=False)
        return done.stdout + done.stderr
