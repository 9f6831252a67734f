"""Running the locally built images with podman, as the deploy tests do."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
CONTAINERS_CONF = REPO / "deploy" / "images" / "containers.conf"
TAG = os.environ.get("TAG", "dev")


def image(name: str) -> str:
    return f"localhost/framegate-{name}:{TAG}"


def env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(CONTAINERS_CONF))}


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, env=env(), timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def available() -> str | None:
    """Why the image tests cannot run here, or None."""
    if not shutil.which("podman"):
        return "podman is not installed (make images installs it)"
    missing = [n for n in ("ingest", "relay", "transcode", "nameko", "review")
               if podman("image", "exists", image(n), check=False).returncode != 0]
    if missing:
        return f"images not built: {', '.join(map(image, missing))} (make images)"
    return None


def stack_env() -> dict[str, str]:
    """What a service container gets: the FRAMEGATE_* settings the services read,
    without the stack's own server credentials or its data directory."""
    return {k: v for k, v in os.environ.items()
            if k.startswith("FRAMEGATE_") and not k.startswith("FRAMEGATE_STACK_")
            and k not in ("FRAMEGATE_DATA", "FRAMEGATE_CONFIG")}


class Container:
    """One `podman run -d` on the host network; removed by remove()."""

    def __init__(self, name: str, img: str, env: dict[str, str], args: list[str] = (), command: list[str] = ()):
        self.name = f"fg-test-{name}-{uuid.uuid4().hex[:8]}"
        run = ["run", "-d", "--name", self.name, "--network", "host", *args]
        for key, value in env.items():
            run += ["-e", f"{key}={value}"]
        podman(*run, img, *command)

    def logs(self) -> str:
        out = podman("logs", self.name, check=False)
        return out.stdout + out.stderr

    def state(self, field: str) -> str:
        return podman("inspect", "--format", "{{.State.%s}}" % field, self.name).stdout.strip()

    def top(self, *descriptors: str) -> list[list[str]]:
        lines = podman("top", self.name, *descriptors).stdout.splitlines()[1:]
        return [line.split(None, len(descriptors) - 1) for line in lines if line.strip()]

    def exec(self, *argv: str) -> subprocess.CompletedProcess:
        return podman("exec", self.name, *argv, check=False)

    def stop(self, timeout: int = 10) -> tuple[float, int]:
        """SIGTERM (then SIGKILL after `timeout`); returns (seconds taken, exit code)."""
        started = time.monotonic()
        podman("stop", "-t", str(timeout), self.name, timeout=timeout + 30)
        took = time.monotonic() - started
        return took, int(self.state("ExitCode"))

    def remove(self) -> None:
        podman("rm", "-f", "-t", "0", self.name, check=False)


def wait_healthy(url: str, container: Container, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if container.state("Running") != "true":
            raise AssertionError(f"{container.name} exited:\n{container.logs()[-3000:]}")
        try:
            response = requests.get(url, timeout=2)
            if response.status_code == 200:
                return response.json()
            last = f"HTTP {response.status_code}: {response.text[:300]}"
        except requests.RequestException as err:
            last = str(err)
        time.sleep(0.3)
    raise AssertionError(f"{url} not healthy within {timeout}s ({last}):\n{container.logs()[-3000:]}")
