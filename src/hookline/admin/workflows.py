"""Workflow administration: create, edit, version, enable, delete, import and export workflows."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from hookline.engine import editing
from hookline.engine.editing import UNSET, Unset
from hookline.engine.graph import check_graph
from hookline.errors import Conflict, InvalidWorkflow, NotFound, Problem, StorageUnavailable
from hookline.exchange import check_node_config, flow_from_json, flow_to_json
from hookline.ids import new_id, new_webhook_key
from hookline.models import Flow, Node, Workflow
from hookline.store.base import Store
from hookline.store.workflow_store import WorkflowFilter
from hookline.trigger.config import check_trigger_config
from hookline.trigger.options import check_options
from hookline.trigger.secrets import env_problems, keep_secrets, mask_secrets
from hookline.types import JsonObject

log = logging.getLogger(__name__)


class WorkflowAdmin:
    """Every change to workflows goes through here, so the API and the CLI behave the same.

    After each change `changed(key)` is called (the server drops its cached versions of the key
    then), and the other processes are told through the store.

    Secrets are write-only: every version it returns shows its literal secrets as placeholders,
    `[secret:i]` in a list and `[secret]` for the password (see `trigger/secrets.py`), and a save
    that sends a placeholder back keeps the stored secret it names.
    `{{$env.NAME}}` secrets may only name the variables in `env_allow` (`HOOKLINE_ENV_ALLOW`).
    """

    def __init__(
        self,
        store: Store,
        *,
        changed: Callable[[str], None] | None = None,
        env_allow: Collection[str] = (),
    ) -> None:
        self._store = store
        self._forget = changed or (lambda _key: None)
        self._env_allow = frozenset(env_allow)

    # -- reading ---------------------------------------------------------------------------

    async def find(self, query: WorkflowFilter) -> list[Workflow]:
        """The current versions matching a filter (secrets masked)."""
        return [_masked(workflow) for workflow in await self._store.find_workflows(query)]

    async def get(self, workflow_id: int) -> Flow:
        """One version with its nodes (secrets masked); `NotFound` when there is none."""
        return _masked_flow(await self._stored(workflow_id))

    async def get_by_key(self, key: str) -> Flow:
        """The current version of a key (secrets masked); `NotFound` when the key is unknown."""
        flow = await self._store.get_current_flow(key)
        if flow is None:
            raise NotFound(f"No workflow has the key {key!r}.")
        return _masked_flow(flow)

    async def versions(self, workflow_id: int) -> list[Workflow]:
        """Every version of the workflow's key, oldest first (secrets masked)."""
        flow = await self._stored(workflow_id)
        return [_masked(workflow) for workflow in await self._store.list_versions(flow.workflow.key)]

    async def execution_count(self, workflow_id: int) -> int:
        """How many executions a version has; a version with any is frozen."""
        return await self._store.count_executions(workflow_id)

    async def export(self, workflow_id: int, *, include_secrets: bool = False) -> JsonObject:
        """The version as workflow JSON, literal secrets masked unless asked.

        The format: docs/reference/workflow-json.md.
        """
        return flow_to_json(await self._stored(workflow_id), include_secrets=include_secrets)

    # -- changing workflows ----------------------------------------------------------------

    async def create(
        self,
        *,
        title: str,
        sync: bool,
        description: str | None = None,
        config: JsonObject | None = None,
        options: JsonObject | None = None,
    ) -> Flow:
        """A new workflow (disabled, no nodes) with a freshly generated webhook key."""
        config, secret_problems = self._kept(config or {}, {})
        options = options or {}
        _raise_if(secret_problems, _settings_problems(title, sync, config, options))
        now = _now()
        workflow = Workflow(
            id=new_id(),
            key=new_webhook_key(),
            title=title,
            description=description,
            sync=sync,
            config=config,
            options=options,
            created_at=now,
            updated_at=now,
        )
        await self._store.add_flow(Flow(workflow, ()))
        await self._changed(workflow.key)
        return await self.get(workflow.id)

    async def import_(self, data: Any) -> Flow:
        """Store workflow JSON; a key that already exists gets a new version.

        A placeholder in the file keeps the secret it names in the key's current version.
        """
        secret_problems: list[Problem] = []
        if isinstance(data, dict) and "config" in data:
            stored = await self._current_config(data.get("key"))
            config, secret_problems = self._kept(data["config"], stored)
            data = {**data, "config": config}
        try:
            flow = flow_from_json(data)
        except InvalidWorkflow as error:
            _raise_if(secret_problems, error.problems)
            raise
        _raise_if(secret_problems)
        await self._store.add_flow(flow)
        await self._changed(flow.workflow.key)
        return await self.get(flow.workflow.id)

    async def update(
        self,
        workflow_id: int,
        *,
        title: str | Unset = UNSET,
        description: str | Unset | None = UNSET,
        config: JsonObject | Unset = UNSET,
        options: JsonObject | Unset = UNSET,
    ) -> Flow:
        """Change a version's title, description, trigger config or options."""
        flow = await self._editable(workflow_id)
        old = flow.workflow
        secret_problems: list[Problem] = []
        if not isinstance(config, Unset):
            config, secret_problems = self._kept(config, old.config)
        workflow = replace(
            old,
            title=old.title if isinstance(title, Unset) else title,
            description=old.description if isinstance(description, Unset) else description,
            config=old.config if isinstance(config, Unset) else config,
            options=old.options if isinstance(options, Unset) else options,
            updated_at=_now(),
        )
        problems = _settings_problems(workflow.title, workflow.sync, workflow.config, workflow.options)
        _raise_if(secret_problems, problems)
        await self._store.update_workflow(workflow)
        await self._changed(workflow.key)
        return await self.get(workflow_id)

    async def set_enabled(self, workflow_id: int, enabled: bool) -> Flow:
        """Enable a version (it becomes the current one of its key) or disable it.

        Only a complete, valid workflow can be enabled.
        """
        flow = await self._stored(workflow_id)
        if enabled:
            _raise_if(env_problems(flow.workflow.config, self._env_allow), _flow_problems(flow))
        await self._store.set_enabled(workflow_id, enabled, now=_now())
        await self._changed(flow.workflow.key)
        return await self.get(workflow_id)

    async def new_version(self, workflow_id: int) -> Flow:
        """A disabled copy of a version with the same key and node keys, ready to be edited."""
        flow = await self._stored(workflow_id)
        now = _now()
        workflow = replace(
            flow.workflow, id=new_id(), enabled=False, current=False, created_at=now, updated_at=now
        )
        nodes = editing.copy_version(flow.nodes, workflow.id, new_id)
        await self._store.add_flow(Flow(workflow, nodes))
        await self._changed(workflow.key)
        return await self.get(workflow.id)

    async def delete(self, workflow_id: int) -> int:
        """Delete the workflow: every version of its key and their executions; returns how many."""
        flow = await self._stored(workflow_id)
        deleted = await self._store.delete_workflow(flow.workflow.key)
        await self._changed(flow.workflow.key)
        return deleted

    # -- changing nodes --------------------------------------------------------------------

    async def add_node(
        self,
        workflow_id: int,
        *,
        type: str,
        config: JsonObject,
        title: str | None = None,
        key: str | None = None,
        upstream_id: int | None = None,
        branch_index: int | None = None,
    ) -> Node:
        """Add a node after `upstream_id` (or at the head), or as the head of one of its branches."""
        flow = await self._editable(workflow_id)
        node = Node(new_id(), workflow_id, key or new_webhook_key(), type, config, title)
        nodes = editing.add_node(
            flow.nodes, node, upstream_id=upstream_id, branch_index=branch_index, sync=flow.workflow.sync
        )
        await self._save_nodes(flow, nodes, node)
        return next(n for n in nodes if n.id == node.id)  # as linked into the graph

    async def update_node(
        self,
        workflow_id: int,
        node_id: int,
        *,
        title: str | Unset | None = UNSET,
        config: JsonObject | Unset = UNSET,
    ) -> Node:
        """Change a node's title or config."""
        flow = await self._editable(workflow_id)
        nodes = editing.update_node(flow.nodes, node_id, title=title, config=config)
        node = next(n for n in nodes if n.id == node_id)
        await self._save_nodes(flow, nodes, node)
        return node

    async def move_node(
        self, workflow_id: int, node_id: int, *, upstream_id: int | None, branch_index: int | None
    ) -> Node:
        """Move a node (with its branches) to another place in the graph."""
        flow = await self._editable(workflow_id)
        nodes = editing.move_node(flow.nodes, node_id, upstream_id=upstream_id, branch_index=branch_index)
        await self._save_nodes(flow, nodes, None)
        return next(n for n in nodes if n.id == node_id)

    async def delete_node(self, workflow_id: int, node_id: int) -> None:
        """Delete a node with every node in its branches."""
        flow = await self._editable(workflow_id)
        nodes = editing.remove_node(flow.nodes, node_id)
        await self._save_nodes(flow, nodes, None)

    # -- helpers ---------------------------------------------------------------------------

    async def _stored(self, workflow_id: int) -> Flow:
        """One version as stored, secrets in clear: for changes, never to be shown."""
        flow = await self._store.get_flow(workflow_id)
        if flow is None:
            raise NotFound(f"No workflow version has the id {workflow_id}.")
        return flow

    async def _current_config(self, key: Any) -> JsonObject:
        """The stored trigger config of a key's current version, empty for a new key."""
        flow = await self._store.get_current_flow(key) if isinstance(key, str) else None
        return flow.workflow.config if flow is not None else {}

    def _kept(self, config: Any, stored: JsonObject) -> tuple[Any, list[Problem]]:
        """A config to save with its placeholders replaced by stored secrets, and its secrets' problems."""
        kept, problems = keep_secrets(config, stored)
        return kept, problems + env_problems(kept, self._env_allow)

    async def _editable(self, workflow_id: int) -> Flow:
        """The version as stored, unless it has executions: an executed version is frozen."""
        flow = await self._stored(workflow_id)
        if await self._store.count_executions(workflow_id):
            raise Conflict(
                "version_frozen",
                "This version has executions and cannot change; create a new version and edit that.",
            )
        return flow

    async def _save_nodes(self, flow: Flow, nodes: tuple[Node, ...], checked: Node | None) -> None:
        if checked is not None:
            _raise_if(check_node_config(checked.type, checked.config, f"nodes[{checked.key}]"))
        await self._store.replace_nodes(flow.workflow.id, nodes)
        await self._store.update_workflow(replace(flow.workflow, updated_at=_now()))
        await self._changed(flow.workflow.key)

    async def _changed(self, key: str) -> None:
        """Drop this process's cached versions of a key, and tell the other processes to do the same."""
        self._forget(key)
        try:
            await self._store.announce_workflow_change(key)
        except StorageUnavailable as exc:
            # The change itself is committed: the others see it when their cached copy expires.
            log.warning("could not announce the change of workflow %s to other processes: %s", key, exc)


def _settings_problems(title: Any, sync: Any, config: Any, options: Any) -> list[Problem]:
    problems = []
    if not isinstance(title, str) or not title.strip():
        problems.append(Problem("title", "is required and must be text"))
    if not isinstance(sync, bool):
        problems.append(Problem("sync", "must be true or false"))
    problems += check_trigger_config(config, sync=bool(sync))
    problems += check_options(options)
    return problems


def _flow_problems(flow: Flow) -> list[Problem]:
    """Everything that keeps a version from being enabled."""
    workflow = flow.workflow
    problems = _settings_problems(workflow.title, workflow.sync, workflow.config, workflow.options)
    problems += check_graph(flow.nodes, sync=workflow.sync)
    for node in flow.nodes:
        problems += check_node_config(node.type, node.config, f"nodes[{node.key}]")
    return problems


def _raise_if(problems: list[Problem], others: Sequence[Problem] = ()) -> None:
    """Raise InvalidWorkflow with `problems` and those of `others` at other places.

    A secret's own problem (a placeholder with nothing stored) explains the rest at its place.
    """
    named = {problem.where for problem in problems}
    every = [*problems, *(problem for problem in others if problem.where not in named)]
    if every:
        raise InvalidWorkflow(every)


def _masked(workflow: Workflow) -> Workflow:
    """A version as it may be shown: its literal secrets replaced by placeholders."""
    masked = mask_secrets(workflow.config)
    return workflow if masked is workflow.config else replace(workflow, config=masked)


def _masked_flow(flow: Flow) -> Flow:
    return replace(flow, workflow=_masked(flow.workflow))


def _now() -> datetime:
    return datetime.now(UTC)
