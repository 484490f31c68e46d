"""The processes of `serve --processes N` share their counts through files in the data folder."""

from __future__ import annotations

from pathlib import Path

from hookline.metrics import Metrics
from hookline.metrics_share import SharedMetrics, clear_shared, shared_folder

SCRAPED = 'hookline_webhook_requests_total{status="200",workflow="orders"}'


def _counted(scrape: bytes) -> float:
    """The `200` answers to `orders` a scrape shows (0 when it has none)."""
    lines = [line for line in scrape.decode().splitlines() if line.startswith(SCRAPED + " ")]
    return float(lines[0].split()[-1]) if lines else 0.0


async def test_each_process_reads_the_others_files_and_a_replacement_counts_on(tmp_path: Path) -> None:
    """Slot 1 sees slot 0's counts (not its own twice); slot 0's replacement starts from its file;
    a damaged file adds nothing; a new supervisor clears them all."""
    first, second = Metrics(), Metrics()
    one, two = SharedMetrics(tmp_path, 0, first, lambda: 0), SharedMetrics(tmp_path, 1, second, lambda: 4)
    one.start()
    two.start()
    try:
        for _ in range(3):
            first.answered("orders", 200)
        second.answered("orders", 200)
        one.publish()  # its write of every second
        assert _counted(second.render(two.others())) == 4
        assert _counted(first.render(one.others())) == 4
        assert "hookline_executions_running 4.0" in first.render(one.others()).decode()
        (shared_folder(tmp_path) / "process-7.json").write_bytes(b"{not json")
        assert _counted(second.render(two.others())) == 4
    finally:
        await one.stop()
        await two.stop()

    replacement = Metrics()
    again = SharedMetrics(tmp_path, 0, replacement, lambda: 0)
    again.start()
    try:
        replacement.answered("orders", 200)
        assert _counted(replacement.render(again.others())) == 5
    finally:
        await again.stop()

    clear_shared(tmp_path)
    assert list(shared_folder(tmp_path).iterdir()) == []
