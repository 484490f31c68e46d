"""A plugin that loads in the supervisor of `serve --processes` but fails in its server processes.

It stands for whatever breaks a server process at start-up (an unusable database, a bad setting
only the app reads): the supervisor must stop rather than restart such a process again and again.
"""

from __future__ import annotations

import multiprocessing

if multiprocessing.parent_process() is not None:
    raise RuntimeError("this plugin refuses to load in a server process")
