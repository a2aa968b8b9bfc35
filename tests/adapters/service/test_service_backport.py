"""Reading Backport notifications: payload kinds, versions from URLs, heartbeats."""

from adapters.service.backport import Focus, read_notification
from adapters.service.subscription import ENCOUNTER_COMPLETE, supported_form


def status(kind, since, events=()):
    parameters = [
        {"name": "subscription", "valueReference": {"reference": "Subscription/s1"}},
        {"name": "type", "valueCode": kind},
        {"name": "events-since-subscription-start", "valueString": str(since)},
    ]
    parameters += [
        {
            "name": "notification-event",
            "part": [
                {"name": "event-number", "valueString": str(number)},
                {"name": "focus", "valueReference": {"reference": focus}},
            ],
        }
        for number, focus in events
    ]
    return {"resource": {"resourceType": "Parameters", "parameter": parameters}}


def bundle(*entries):
    return {"resourceType": "Bundle", "type": "history", "entry": list(entries)}


def test_full_resource_payloads_carry_the_version():
    encounter = {"resourceType": "Encounter", "id": "e1", "meta": {"versionId": "4"}}
    read = read_notification(
        bundle(status("event-notification", 7, [(7, "Encounter/e1")]), {"resource": encounter})
    )
    assert read.subscription == "s1"
    assert read.events_since_start == 7
    assert read.event_numbers == (7,)
    assert read.focus == (Focus("e1", "4"),)


def test_id_only_payloads_are_read_from_their_urls():
    entry = {"fullUrl": "https://ehr.example/fhir/Encounter/e2/_history/3"}
    read = read_notification(bundle(status("event-notification", 1), entry))
    assert read.focus == (Focus("e2", "3"),)


def test_focus_ids_and_versions_that_are_not_fhir_ids_are_dropped():
    # ids go into URL paths (Encounter/{id}): validated like CDS Hooks' encounterId
    bad_resource = {"resourceType": "Encounter", "id": "e1/../../Patient", "meta": {}}
    bad_version = {"resourceType": "Encounter", "id": "e3", "meta": {"versionId": "1?x=y"}}
    read = read_notification(
        bundle(
            status("event-notification", 2, [(1, "Encounter/a%20b"), (2, "Encounter/e4")]),
            {"resource": bad_resource},
            {"resource": bad_version},
            {"fullUrl": "https://ehr.example/fhir/Encounter/" + "x" * 65},
        )
    )
    assert set(read.focus) == {Focus("e4"), Focus("e3", "")}


def test_a_heartbeat_has_no_focus_and_other_bundles_are_not_notifications():
    heartbeat = read_notification(bundle(status("heartbeat", 12)))
    assert (heartbeat.kind, heartbeat.focus, heartbeat.events_since_start) == ("heartbeat", (), 12)
    assert read_notification({"resourceType": "Bundle", "type": "searchset"}) is None
    assert read_notification(bundle({"resource": {"resourceType": "Patient"}})) is None


def test_subscribe_picks_the_topic_only_where_the_server_declares_it():
    plain = {"rest": [{"resource": [{"type": "Subscription"}]}]}
    assert supported_form(plain) == "rest-hook"
    topic_url = (
        "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
        "capabilitystatement-subscriptiontopic-canonical"
    )
    declared = {"rest": [{"extension": [{"url": topic_url, "valueCanonical": ENCOUNTER_COMPLETE}]}]}
    assert supported_form(declared) == "backport"
