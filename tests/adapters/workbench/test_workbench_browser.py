"""The workbench in a real browser: Debian's chromium driven by Playwright (nothing downloaded).

One sandbox and one ``fhir-coder workbench`` run as processes over real loopback HTTP; the
held encounters come from ``fhir-coder run`` over the sandbox, like a hospital's would. Each
test works its own encounter (a header code, ``E03``, sent by the EHR), so their order does
not matter. Screenshots land in ``docs/`` for the README.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.cli.sandbox_process import read_ready_line, running_sandbox
from tests.adapters.held_cases import header_encounter_resources

from .conftest import password

CHROMIUM = Path("/usr/bin/chromium")
DOCS = Path(__file__).resolve().parents[3] / "docs"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="chromium not installed (apt-get install chromium)"
    ),
]
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright not installed (pip install -e '.[test]')"
)
axe_playwright = pytest.importorskip(
    "axe_playwright_python.sync_playwright", reason="axe-playwright-python not installed"
)

CASES = {  # encounter: patient
    "enc-e03-mouse": "pat-0002",
    "enc-e03-keys": "pat-0003",
    "enc-e03-clash": "pat-0004",
    "enc-e03-axe": "pat-0003",
}


def _put_cases(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as fhir:
        for day, (encounter_id, patient) in enumerate(CASES.items(), start=3):
            resources = header_encounter_resources(
                encounter_id, patient=patient, day=f"2025-11-{day:02d}"
            )
            for resource in [resources[1], resources[0], *resources[2:]]:  # the Condition first
                path = f"/{resource['resourceType']}/{resource['id']}"
                assert fhir.put(path, json=resource).status_code in (200, 201)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "adapters.cli.main", *args]


@pytest.fixture(scope="module")
def served(tmp_path_factory, accounts_file) -> Iterator[dict[str, str]]:
    folder = tmp_path_factory.mktemp("workbench-browser")
    jobs = folder / "jobs.sqlite3"
    with running_sandbox(folder / "sandbox.sqlite3", extra_args=("--patients", "4")) as base:
        _put_cases(base)
        ran = subprocess.run(
            _cli("run", "--server", base, "--source-id", "sb", "--jobs-db", str(jobs), "--quiet"),
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        command = _cli(
            "workbench", "--server", base, "--source-id", "sb", "--jobs-db", str(jobs),
            "--accounts", str(accounts_file), "--port", "0",
        )  # fmt: skip
        log = (folder / "workbench.log").open("w")
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        try:
            url = read_ready_line(process, "FHIR_CODER_WORKBENCH_READY", 120)
            assert url, (folder / "workbench.log").read_text()
            yield {"url": url.rstrip("/"), "fhir": base, "jobs": str(jobs)}
        finally:
            process.terminate()
            process.wait(timeout=20)
            if process.stdout is not None:
                process.stdout.close()
            log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


def _sign_in(page, served, user="ada"):
    page.goto(served["url"] + "/")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password(user))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Worklist").wait_for()


def _claims(served, encounter_id):
    with httpx.Client(base_url=served["fhir"], timeout=30) as fhir:
        bundle = fhir.get("/Claim", params={"encounter": f"Encounter/{encounter_id}"}).json()
        claims = [
            e["resource"]
            for e in bundle.get("entry") or []
            if e["resource"]["resourceType"] == "Claim"
        ]
        provenance = []
        for claim in claims:
            found = fhir.get("/Provenance", params={"target": f"Claim/{claim['id']}"}).json()
            provenance += [
                e["resource"]
                for e in found.get("entry") or []
                if e["resource"]["resourceType"] == "Provenance"
                and {"reference": f"Claim/{claim['id']}"} in e["resource"]["target"]
            ]
    return claims, provenance


def _authors(provenance):
    return [
        agent["who"]["identifier"]["value"]
        for p in provenance
        for agent in p["agent"]
        if agent["type"]["coding"][0]["code"] == "author"
    ]


def test_a_coder_filters_opens_a_held_encounter_picks_the_billable_code_and_releases_it(
    page, served
):
    _sign_in(page, served)
    page.get_by_label("Reason", exact=True).select_option("header-code")
    page.get_by_role("link", name="enc-e03-mouse").wait_for()
    # sorted by encounter, the page is the same at every run (and so is the screenshot)
    page.get_by_label("Sort").select_option("encounter")
    # the test's own encounters in the order asked for (the seed's header codes sent beside
    # their concept are completed by it, so no seed encounter is held for a header)
    page.wait_for_function("document.querySelector('tbody tr td a').textContent === 'enc-e03-axe'")
    rows = page.locator("tbody tr td:first-child a").all_text_contents()
    assert rows == sorted(rows)
    assert {"enc-e03-axe", "enc-e03-mouse", "enc-e03-keys"} <= set(rows)
    assert page.get_by_role("link", name="enc-e03-keys").is_visible()
    page.screenshot(path=str(DOCS / "workbench-worklist.png"))
    page.get_by_role("link", name="enc-e03-mouse").click()
    page.get_by_role("heading", name="Coding").wait_for()
    page.screenshot(path=str(DOCS / "workbench-encounter.png"))
    page.get_by_role("button", name="Accept E03.9 for Condition/enc-e03-mouse-dx1").click()
    page.get_by_role("status").filter(has_text="Accepted E039").wait_for()
    page.get_by_role("button", name="Confirm 99213").click()
    page.get_by_role("status").filter(has_text="Confirmed 99213").wait_for()
    page.get_by_role("button", name="Release the Claim").click()
    page.get_by_role("status").filter(has_text="Claim released").wait_for()
    claims, provenance = _claims(served, "enc-e03-mouse")
    assert len(claims) == 1
    assert claims[0]["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["code"] == "E03.9"
    assert _authors(provenance) == ["ada"]


def test_the_same_path_by_keyboard_alone(page, served):
    page.goto(served["url"] + "/")
    page.keyboard.type("bob")  # the user name field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(password("bob"))
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Worklist").wait_for()
    # each page's key handlers are attached on DOMContentLoaded: a key pressed before then
    # (a loaded machine shows the heading first) would go nowhere, and the typing after it too
    page.wait_for_load_state("load")
    page.keyboard.press("/")
    sync_api.expect(page.get_by_label("Encounter or patient")).to_be_focused()
    page.keyboard.type("enc-e03-keys")
    page.keyboard.press("Enter")
    page.get_by_role("caption").filter(has_text="1 item").wait_for()
    page.wait_for_load_state("load")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")  # open the row the focus is on
    page.get_by_role("heading", name="Coding").wait_for()
    page.wait_for_load_state("load")
    page.keyboard.press("a")  # the best suggestion, E03.9
    page.get_by_role("status").filter(has_text="Accepted E039").wait_for()
    # the focus goes to the next thing to do: the visit level to confirm
    page.wait_for_function(
        "document.activeElement && "
        "document.activeElement.getAttribute('aria-label') === 'Confirm 99213'"
    )
    page.keyboard.press("a")
    page.get_by_role("status").filter(has_text="Confirmed 99213").wait_for()
    page.keyboard.press("s")
    page.get_by_role("status").filter(has_text="Claim released").wait_for()
    claims, provenance = _claims(served, "enc-e03-keys")
    assert len(claims) == 1
    assert _authors(provenance) == ["bob"]


def test_no_serious_or_critical_accessibility_violation(page, served):
    axe = axe_playwright.Axe()
    page.goto(served["url"] + "/login")
    found = {"sign-in": axe.run(page)}
    _sign_in(page, served)
    found["worklist"] = axe.run(page)
    page.get_by_role("link", name="enc-e03-axe").click()
    page.get_by_role("heading", name="Coding").wait_for()
    found["encounter"] = axe.run(page)
    page.goto(served["url"] + "/dashboard")
    found["dashboard"] = axe.run(page)
    bad = {
        where: [
            (v["id"], v["impact"], v["help"])
            for v in result.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        for where, result in found.items()
    }
    assert bad == {"sign-in": [], "worklist": [], "encounter": [], "dashboard": []}


def test_a_second_coders_conflicting_edit_is_refused_with_a_clear_message(browser, served):
    first = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    second = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    _sign_in(first, served, "ada")
    first.get_by_role("link", name="enc-e03-clash").click()
    first.get_by_role("heading", name="Coding").wait_for()
    _sign_in(second, served, "bob")
    second.get_by_role("link", name="enc-e03-clash").click()
    second.get_by_text("Ada Coder is working on this item").first.wait_for()
    second.get_by_role("button", name="Accept E03.9 for Condition/enc-e03-clash-dx1").click()
    refusal = second.get_by_role("alert").filter(has_text="your change (")
    refusal.wait_for()
    assert "Ada Coder is working on this item now" in refusal.inner_text()
    assert "was not saved" in refusal.inner_text()
    # the first coder's work goes on, nothing lost
    first.get_by_role("button", name="Accept E03.8 for Condition/enc-e03-clash-dx1").click()
    first.get_by_role("status").filter(has_text="Accepted E038").wait_for()
    assert _claims(served, "enc-e03-clash")[0] == []
