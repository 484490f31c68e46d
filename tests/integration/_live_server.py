"""A real `hookline serve` process for tests where process boundaries matter (crashes, restarts)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import TracebackType

import httpx

from hookline.types import JsonObject

REPO_ROOT = Path(__file__).resolve().parents[2]
CRASH_PLUGIN = "tests.integration._crash_plugin"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def hookline_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a hookline process on an SQLite file in `data_dir`, with the crash plugin.

    `settings` are extra `HOOKLINE_*` variables, e.g. `HOOKLINE_LEASE_SECONDS="2"`.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(HOOKLINE_DATA_DIR=str(data_dir), HOOKLINE_PLUGINS=CRASH_PLUGIN, **settings)
    return env


def run_hookline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `hookline <args>` until it exits by itself (within 60 s); its exit status and what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "hookline", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_cli(env: dict[str, str], *args: str) -> str:
    """Run `hookline <args>` to completion and return its output; a failure raises with its stderr."""
    done = run_hookline(env, *args)
    if done.returncode != 0:
        raise RuntimeError(f"hookline {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


def import_workflow(env: dict[str, str], workflow: JsonObject, folder: Path) -> str:
    """Import workflow JSON (which names its key) through `hookline workflow import`; its key."""
    path = folder / f"{workflow['key']}.json"
    path.write_text(json.dumps(workflow))
    run_cli(env, "workflow", "import", str(path))
    return str(workflow["key"])


class LiveServer:
    """Starts, kills and restarts `hookline serve`; its output goes to `log_path`.

    Use it as `async with LiveServer(...) as server:` so the process is always stopped, and
    the tail of its output is printed when the block fails.
    """

    def __init__(self, env: dict[str, str], log_path: Path, command: tuple[str, ...] = ("serve",)) -> None:
        self.env = env
        self.log_path = log_path
        self.command = command
        self.port = 0
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The base URL of the running process."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self, within: float = 30.0) -> None:
        """Start a new process on a fresh port and wait (at most `within` seconds) for `/healthz`."""
        self._spawn()
        try:
            async with asyncio.timeout(within), httpx.AsyncClient(base_url=self.url, timeout=1.0) as client:
                # Another process becomes ready: polling is the only way to see it.
                while not await self._healthy(client):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise TimeoutError(
                f"hookline serve did not answer /healthz in {within} s:\n{self.tail()}"
            ) from None

    async def _healthy(self, client: httpx.AsyncClient) -> bool:
        """Whether `/healthz` answers 200; raises when the process has already exited."""
        if self._process is None or self._process.poll() is not None:
            raise RuntimeError(f"hookline serve exited at start-up:\n{self.tail()}")
        try:
            return (await client.get("/healthz")).status_code == 200
        except httpx.TransportError:
            return False  # not listening yet

    @property
    def pid(self) -> int:
        """The process id of the running process."""
        if self._process is None:
            raise RuntimeError("the server is not running")
        return self._process.pid

    @property
    def running(self) -> bool:
        """True while the process started last has not exited."""
        return self._process is not None and self._process.poll() is None

    def terminate(self) -> None:
        """Send SIGTERM (a graceful shutdown) without waiting; see `wait_exit`."""
        if self._process is None:
            raise RuntimeError("the server is not running")
        self._process.terminate()

    async def wait_exit(self, within: float) -> int:
        """Wait (at most `within` seconds) until the process exits; its exit status."""
        process = self._process
        if process is None:
            raise RuntimeError("the server is not running")
        try:
            async with asyncio.timeout(within):
                # Another process ends: polling its status is the only way to see it from here.
                while process.poll() is None:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise TimeoutError(f"hookline did not exit within {within} s:\n{self.tail()}") from None
        self._process = None
        return process.returncode

    def kill(self) -> None:
        """SIGKILL the process (no shutdown code runs) and reap it."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
        if process is not None:
            process.wait(timeout=10)

    def stop(self, grace: float = 10.0) -> None:
        """Ask the process to shut down (SIGTERM); kill it if it takes longer than `grace` seconds."""
        if self._process is None:
            return
        self._process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=grace)
        self.kill()

    def tail(self, lines: int = 60) -> str:
        """The last lines the server processes wrote."""
        if not self.log_path.exists():
            return "(no output)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _spawn(self) -> None:
        """Launch `python -m hookline <command>` with its output appended to the log file."""
        if self._process is not None:
            raise RuntimeError("the server is already running")
        self.port = free_port()
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts} on port {self.port}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "hookline",
                    *self.command,
                    "--port",
                    str(self.port),
                    "--log-level",
                    "info",
                ],
                env=self.env,
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def __aenter__(self) -> LiveServer:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.stop()
        finally:
            if kind is not None:
                print(f"\n--- tail of {self.log_path}:\n{self.tail()}")
