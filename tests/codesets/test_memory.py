from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys
from datetime import date
from pathlib import Path
from codesets import CodeSetRegistry
from codesets.crosswalks import CrosswalkRegistry
from fhir_coder.systems import ICD10CM, ICD10PCS, SNOMED
registry = CodeSetRegistry(cache_dir=Path(sys.argv[1]))
crosswalks = CrosswalkRegistry()
index = registry.index
day = date(2026, 1, 15)
for row in range(0, len(index), 7):
    registry.lookup(ICD10CM, index.code(row), day)
registry.lookup(ICD10PCS, "0DTJ4ZZ", day)
registry.describe("E119")
crosswalks.translate(SNOMED, "44054006", ICD10CM, on=day)
for line in open("/proc/self/status"):
    if line.startswith("VmRSS:"):
        print(int(line.split()[1]) // 1024)
registry.close()
"""


def test_loaded_registry_stays_under_150_mb(registry, cache_folder):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(cache_folder)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    resident_mb = int(done.stdout.strip())
    assert resident_mb < 150, f"{resident_mb} MB resident"
