"""What is recorded must match what was answered: the check every hostile request goes through.

Before a batch of requests to one workflow, `Ledger.open` notes the executions it has; after,
`settle(answers)` reads them again through the admin API and requires that

- no answer is `500 internal_error` (every refusal has its own code),
- every `2xx` answer names its execution in `X-Hookline-Execution`, and
- the executions recorded since are exactly those the answers named, each named once;
  so `2xx` ⇔ one execution, and a refusal that names none recorded none.

An answer may name an execution without being `2xx`: a synchronous workflow that ran and
failed (its execution is then recorded as such, which the test checks).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from hookline.types import JsonObject
from tests.hostile._raw import RawAnswer
from tests.hostile.conftest import Hostile

PAGE_SIZE = 200


@dataclass(frozen=True, slots=True)
class Ledger:
    """The executions one workflow had before a batch of hostile requests."""

    hostile: Hostile
    key: str
    before: frozenset[str]

    @classmethod
    async def open(cls, hostile: Hostile, key: str) -> Ledger:
        """Note the executions `key` has now."""
        return cls(hostile, key, frozenset(await recorded(hostile, key)))

    async def settle(self, answers: Sequence[RawAnswer]) -> dict[str, JsonObject]:
        """Check the answers against what was recorded since `open`; the new executions by id."""
        for answer in answers:
            assert answer.error_code != "internal_error", f"answered {answer.describe()}"
            if 200 <= answer.status < 300:
                assert answer.execution, f"a 2xx answer names no execution: {answer.describe()}"
        named = Counter(answer.execution for answer in answers if answer.execution)
        twice = [execution for execution, count in named.items() if count > 1]
        assert not twice, f"answers name the same execution more than once: {twice}"
        now = await recorded(self.hostile, self.key)
        new = {execution: view for execution, view in now.items() if execution not in self.before}
        statuses = Counter(answer.status for answer in answers)
        assert set(new) == set(named), (
            f"{len(new)} executions recorded for {len(named)} answers naming one "
            f"(statuses {dict(statuses)}); recorded but not named: {sorted(set(new) - set(named))}, "
            f"named but not recorded: {sorted(set(named) - set(new))}"
        )
        return new


async def recorded(hostile: Hostile, key: str) -> dict[str, JsonObject]:
    """Every execution of workflow `key`, by id, as the admin API lists them."""
    found: dict[str, JsonObject] = {}
    before: str | None = None
    async with hostile.admin() as admin:
        while True:
            params = {"workflow": key, "limit": str(PAGE_SIZE), **({"before": before} if before else {})}
            response = await admin.get("/api/executions", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            found.update((item["id"], item) for item in page["items"])
            before = page["next_before"]
            if before is None:
                return found
