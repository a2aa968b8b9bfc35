"""The progress line is for a person at a terminal, never for a captured log."""

import io

from adapters.cli.progress import Progress
from adapters.jobs.ledger import JobLedger, JobState


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _ledger(tmp_path):
    ledger = JobLedger(tmp_path / "jobs.sqlite3")
    ledger.enqueue("src", "e1", "1", trigger="run")
    return ledger


def test_a_captured_stream_gets_no_progress_at_all(tmp_path):
    with _ledger(tmp_path) as ledger:
        captured = io.StringIO()
        progress = Progress(ledger, "src", stream=captured)
        for _ in range(50):
            progress(None, None, JobState.DONE)  # type: ignore[arg-type]
        progress.end()
    assert captured.getvalue() == ""


def test_a_terminal_gets_one_line_redrawn_and_ended(tmp_path):
    with _ledger(tmp_path) as ledger:
        terminal = _Terminal()
        progress = Progress(ledger, "src", stream=terminal)
        for _ in range(50):
            progress(None, None, JobState.DONE)  # type: ignore[arg-type]
        progress.end()
    text = terminal.getvalue()
    assert text.endswith("\n")
    assert text.count("\n") == 1
    assert "0 done, 0 held, 0 failed, 1 waiting" in text
    assert text.count("\r") <= 3  # redrawn at most every tenth of a second, then at the end


def test_quiet_on_a_terminal_draws_nothing(tmp_path):
    with _ledger(tmp_path) as ledger:
        terminal = _Terminal()
        progress = Progress(ledger, "src", enabled=False, stream=terminal)
        progress(None, None, JobState.DONE)  # type: ignore[arg-type]
        progress.end()
    assert terminal.getvalue() == ""


def test_the_export_line_shows_each_type_fetched_on_a_terminal_only():
    from adapters.bulk import ExportProgress  # noqa: PLC0415
    from adapters.cli.commands.run_bulk import ExportLine  # noqa: PLC0415

    events = [
        ExportProgress("waiting", detail="Encounter: type 2 of 7"),
        ExportProgress(
            "downloading",
            detail="Condition",
            files_done=1,
            files_total=7,
            by_type=(("Encounter", 302),),
        ),
        ExportProgress(
            "done", files_done=7, files_total=7, by_type=(("Condition", 535), ("Encounter", 302))
        ),
    ]
    captured, terminal = io.StringIO(), _Terminal()
    for stream in (captured, terminal):
        line = ExportLine(enabled=True, stream=stream)
        for event in events:
            line(event)
        line.end()
    assert captured.getvalue() == ""
    text = terminal.getvalue()
    assert text.count("\n") == 1
    assert "the server is preparing it (Encounter: type 2 of 7)" in text
    assert "7 files fetched; Condition 535, Encounter 302" in text
