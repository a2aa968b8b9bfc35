from fhir.resources.R4B.operationoutcome import OperationOutcome

from fhir_coder.outcome import (
    Issue,
    IssueCode,
    Severity,
    count_by_severity,
    issue_from_json,
    operation_outcome,
    outcome_text,
)


def test_issue_round_trips_through_operation_outcome_json():
    issue = Issue(
        Severity.ERROR,
        IssueCode.CODE_INVALID,
        "E11 is a category header",
        rule="ICD10CM-NOT-BILLABLE",
        expression=("Claim.diagnosis[0]",),
        fix="choose E11.9",
    )
    outcome = operation_outcome(issue)
    assert outcome["resourceType"] == "OperationOutcome"
    back = issue_from_json(outcome["issue"][0])
    assert (back.severity, back.code, back.message, back.rule, back.expression) == (
        issue.severity,
        issue.code,
        issue.message,
        issue.rule,
        issue.expression,
    )
    assert "choose E11.9" in outcome["issue"][0]["diagnostics"]


def test_empty_outcome_is_still_a_valid_operation_outcome():
    OperationOutcome.model_validate(operation_outcome())


def test_outcome_text_reads_details_and_diagnostics_as_vendors_send_them():
    hapi = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "processing",
                "diagnostics": "HAPI-2001: Resource Encounter/9 is not known",
            }
        ],
    }
    medplum = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "invalid",
                "details": {"text": "Missing required property"},
                "expression": ["Claim.status"],
            }
        ],
    }
    assert outcome_text(hapi) == "HAPI-2001: Resource Encounter/9 is not known"
    assert outcome_text(medplum) == "Missing required property (at Claim.status)"
    assert outcome_text({"resourceType": "Patient"}) == ""
    assert outcome_text(None) == ""


def test_unknown_severity_and_code_read_leniently():
    issue = issue_from_json({"severity": "bogus", "code": "nonsense", "diagnostics": "x"})
    assert issue.severity is Severity.ERROR
    assert issue.message == "x"


def test_counts_include_every_severity():
    counts = count_by_severity([Issue(Severity.WARNING, IssueCode.INCOMPLETE, "w")])
    assert counts == {"fatal": 0, "error": 0, "warning": 1, "information": 0}
