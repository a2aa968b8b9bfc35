"""``python -m sandbox --load`` and ``--auth-config``, and the same flags through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from adapters.cli import main as cli
from adapters.cli import sandbox_process
from adapters.cli.sandbox_process import running_sandbox
from tests.shared_data import shared_data_dir


def test_load_a_bundle_file_and_an_ndjson_folder(tmp_path: Path):
    synthea = min(shared_data_dir("synthea-bundles").glob("*.json"))
    folder = tmp_path / "ndjson"
    folder.mkdir()
    lines = [
        json.dumps({"resourceType": "Patient", "id": f"nd-{n}", "gender": "female"})
        for n in range(3)
    ]
    (folder / "Patient.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    extra = ("--no-seed", "--load", str(synthea), "--load", str(folder))

    with (
        running_sandbox(tmp_path / "sandbox.sqlite3", extra_args=extra) as base_url,
        httpx.Client(base_url=base_url + "/") as http,
    ):
        patients = http.get("Patient", params={"_summary": "count"}).json()["total"]
        nd = http.get("Patient/nd-2")

    assert patients == 4
    assert nd.status_code == 200
    assert nd.json()["gender"] == "female"


def test_a_bad_load_path_stops_the_server_with_the_reason(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "Patient"}', encoding="utf-8")

    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "--db", str(tmp_path / "s.sqlite3"), "--load", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert "not a Bundle" in done.stderr


def test_auth_config_flag_guards_the_routes(tmp_path: Path):
    config = tmp_path / "auth.json"
    config.write_text(json.dumps({"bearer_tokens": {"t0k": "system/*.rs"}}), encoding="utf-8")

    extra = ("--no-seed", "--auth-config", str(config))
    with (
        running_sandbox(tmp_path / "sandbox.sqlite3", extra_args=extra) as base_url,
        httpx.Client(base_url=base_url + "/") as http,
    ):
        assert http.get("metadata").status_code == 200
        assert http.get("Patient").status_code == 401
        assert http.get("Patient", headers={"Authorization": "Bearer t0k"}).status_code == 200


def test_the_cli_passes_the_flags_on(tmp_path: Path, monkeypatch):
    seen: list[list[str]] = []

    class Stopped:  # the child the command starts, as if it ran and stopped cleanly
        def wait(self) -> int:
            return 0

        def send_signal(self, signum: int) -> None:
            raise AssertionError(f"no signal expected, got {signum}")

    def start_child(args, **_options):
        seen.append(args)
        return Stopped()

    monkeypatch.setattr(sandbox_process, "start_child", start_child)
    config, data, rules = tmp_path / "auth.json", tmp_path / "data", tmp_path / "payer.json"

    code = cli.main(
        ["sandbox", "--no-seed", "--load", str(data), "--auth-config", str(config), "--port", "0",
         "--payer-rules", str(rules)]
    )  # fmt: skip

    assert code == 0
    args = seen[0]
    assert args[1:3] == ["-m", "sandbox"]
    assert args[args.index("--load") + 1] == str(data)
    assert args[args.index("--auth-config") + 1] == str(config)
    assert args[args.index("--payer-rules") + 1] == str(rules)
    assert "--no-seed" in args
