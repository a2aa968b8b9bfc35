import pytest

from adapters.fhir.capabilities import read_capabilities
from adapters.fhir.profiles import PROFILES, choose_strategy, detect_profile


def statement(software="Some FHIR server", *, batch=True, includes=True, claim=("create",)):
    encounter = {"type": "Encounter", "interaction": [{"code": "read"}, {"code": "search-type"}]}
    if includes:
        encounter["searchInclude"] = ["Encounter:patient"]
        encounter["searchRevInclude"] = ["Condition:encounter", "Procedure:encounter"]
    return {
        "resourceType": "CapabilityStatement",
        "software": {"name": software},
        "rest": [
            {
                "mode": "server",
                "interaction": [{"code": "batch"}] if batch else [],
                "resource": [
                    encounter,
                    {"type": "Claim", "interaction": [{"code": c} for c in claim]},
                    {"type": "Condition", "searchParam": [{"name": "encounter"}]},
                ],
            }
        ],
    }


def test_the_statement_is_read_into_plain_answers():
    caps = read_capabilities(statement())
    assert caps.batch
    assert not caps.transaction
    assert caps.supports("Claim", "create")
    assert caps.searchable("Condition", "encounter")
    assert not caps.searchable("Condition", "code")
    assert caps.searchable("Encounter", "anything")  # no list: the common ones assumed
    assert caps.can_revinclude("Encounter", "Condition:encounter")


@pytest.mark.parametrize(
    ("software", "profile"),
    [
        ("HAPI FHIR Server", "hapi"),
        ("Medplum FHIR router (fhir-coder interoperability peer)", "medplum"),
        ("Epic", "epic"),
        ("Oracle Health Millennium Platform", "cerner"),
        ("fhir-coder sandbox", "sandbox"),
        ("Something else", "generic"),
    ],
)
def test_vendor_profiles_are_recognised_from_the_software_name(software, profile):
    assert detect_profile(statement(software)).name == profile


def test_the_generic_strategy_believes_the_statement():
    strategy = choose_strategy(read_capabilities(statement()), PROFILES["generic"])
    assert (strategy.batch, strategy.include, strategy.claim_write) == (True, True, True)
    plain = choose_strategy(
        read_capabilities(statement(batch=False, includes=False, claim=())), PROFILES["generic"]
    )
    assert (plain.batch, plain.include, plain.claim_write) == (False, False, False)


def test_profiles_override_what_servers_declare():
    caps = read_capabilities(statement())
    epic = choose_strategy(caps, PROFILES["epic"])
    assert (epic.batch, epic.include, epic.claim_write) == (False, False, False)
    hapi = choose_strategy(caps, PROFILES["hapi"])
    assert (hapi.batch, hapi.include) == (True, False)  # _revinclude truncates silently
    assert PROFILES["medplum"].conditional_transaction_limit == 8


def test_an_empty_statement_declares_nothing():
    caps = read_capabilities({"resourceType": "CapabilityStatement"})
    assert not caps.batch
    assert not caps.supports("Claim", "create")
