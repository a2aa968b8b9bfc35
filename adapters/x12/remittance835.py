"""835 remittances read with x12sdk's models into the core's remittance values.

The interchange is checked first (:mod:`adapters.x12.syntax`); then x12sdk's reader
turns each 835 transaction into its model, which checks what the guide requires and
that every claim balances (charge less adjustments equals payment). A model that does not
validate is an :class:`~fhir_coder.errors.X12Error` at the segment its error is about.
Provider-level adjustments are read from the checked segments, since the model keeps one
PLB of several.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from pydantic import ValidationError
from x12sdk.io import X12ModelReader
from x12sdk.parsing import X12ParseException

from adapters.x12.serialise import cache_type_hints
from adapters.x12.syntax import Interchange, Segment
from fhir_coder.errors import X12Error
from fhir_coder.remittance import (
    Adjustment,
    ProviderAdjustment,
    Remittance,
    RemittanceClaim,
    RemittanceLine,
)

__all__ = ["read_835"]

# x12sdk logs a traceback (logger.exception) for a segment it has no model for; ours is
# the one-line X12Error, so its records stop here instead of reaching a terminal.
_X12SDK_LOG = logging.getLogger("x12sdk")
_X12SDK_LOG.addHandler(logging.NullHandler())
_X12SDK_LOG.propagate = False

_CAS_TRIPLETS: Final = 6
cache_type_hints()


def _adjustments(segments: Iterable[Any] | None) -> tuple[Adjustment, ...]:
    out: list[Adjustment] = []
    for cas in segments or ():
        group = str(getattr(cas.adjustment_group_code, "value", cas.adjustment_group_code))
        for index in range(1, _CAS_TRIPLETS + 1):
            reason = getattr(cas, f"adjustment_reason_code_{index}")
            amount = getattr(cas, f"monetary_amount_{index}")
            if reason and amount is not None:
                quantity = getattr(cas, f"quantity_{index}")
                out.append(Adjustment(group, str(reason), Decimal(amount), quantity))
    return tuple(out)


def _procedure(composite: str, component: str) -> tuple[str, tuple[str, ...]]:
    parts = composite.split(component)
    return (parts[1] if len(parts) > 1 else parts[0]), tuple(p for p in parts[2:6] if p)


def _line(loop: Any, number: int, component: str) -> RemittanceLine:  # noqa: ANN401
    svc = loop.svc_segment
    code, modifiers = _procedure(svc.composite_medical_procedure_identifier_1, component)
    remarks = tuple(
        str(lq.form_identifier)
        for lq in loop.lq_segment or ()
        if str(getattr(lq.code_list_qualifier_code, "value", lq.code_list_qualifier_code)) == "HE"
    )
    reference = next(
        (
            str(ref.reference_identification)
            for ref in loop.ref_segment or ()
            if str(
                getattr(
                    ref.reference_identification_qualifier,
                    "value",
                    ref.reference_identification_qualifier,
                )
            )
            == "6R"
        ),
        "",
    )
    return RemittanceLine(
        number=number,
        procedure=code,
        modifiers=modifiers,
        charge=Decimal(svc.line_item_charge_amount),
        paid=Decimal(svc.line_item_provider_payment_amount),
        units=svc.units_of_service_paid_count,
        adjustments=_adjustments(loop.cas_segment),
        remarks=remarks,
        line_reference=reference,
    )


def _claim_remarks(loop: Any) -> tuple[str, ...]:  # noqa: ANN401
    codes: list[str] = []
    for segment in (loop.moa_segment, loop.mia_segment):
        if segment is None:
            continue
        codes.extend(
            str(value)
            for name in type(segment).model_fields
            if "remark_code" in name and (value := getattr(segment, name))
        )
    return tuple(codes)


def _provider_adjustments(segments: Iterable[Segment], component: str) -> list[ProviderAdjustment]:
    out: list[ProviderAdjustment] = []
    for segment in segments:
        if segment.id != "PLB":
            continue
        for index in range(3, len(segment.elements), 2):
            composite, amount = segment.element(index), segment.element(index + 1)
            if not composite:
                continue
            reason, _, reference = composite.partition(component)
            try:
                value = Decimal(amount)
            except InvalidOperation as exc:
                raise X12Error(
                    f"PLB{index + 1:02d} {amount!r} is not an amount",
                    source="",
                    segment="PLB",
                    position=segment.position,
                ) from exc
            out.append(
                ProviderAdjustment(segment.element(1), segment.element(2), reason, reference, value)
            )
    return out


def read_835(text: str, checked: Interchange, source: str) -> list[Remittance]:
    """Every 835 transaction of ``text`` (already ``checked``) as a :class:`Remittance`."""
    wanted = [t for t in checked.transactions if t.code == "835"]
    models: list[Any] = []
    try:
        with X12ModelReader(text) as reader:
            models.extend(
                model
                for model in reader.models()
                if type(model).__name__ == "HealthCareClaimPayment"
            )
    except (ValidationError, X12ParseException, KeyError, ValueError, IndexError) as exc:
        failing = wanted[len(models)] if len(models) < len(wanted) else wanted[-1]
        where = _locate(failing.segments, exc)
        raise X12Error(
            f"the 835 transaction {failing.control_number} does not validate: {_reason(exc)}",
            source=source,
            segment=where.id,
            position=where.position,
        ) from exc
    component = checked.component_separator
    remittances: list[Remittance] = []
    index = 0
    for transaction, model in zip(wanted, models, strict=True):
        claims: list[RemittanceClaim] = []
        for paid in model.claims():
            clp = paid.claim.clp_segment
            status = str(getattr(clp.claim_status_code, "value", clp.claim_status_code))
            index += 1
            claims.append(
                RemittanceClaim(
                    pcn=str(clp.patient_control_number),
                    status_code=status,
                    charge=Decimal(clp.total_claim_charge_amount),
                    paid=Decimal(clp.claim_payment_amount),
                    patient_responsibility=Decimal(clp.patient_responsibility_amount or 0),
                    payer_claim_number=str(clp.payer_claim_control_number or ""),
                    frequency=str(clp.claim_frequency_type_code or ""),
                    lines=tuple(
                        _line(loop, number, component)
                        for number, loop in enumerate(paid.service_lines, start=1)
                    ),
                    adjustments=_adjustments(paid.adjustments),
                    remarks=_claim_remarks(paid.claim),
                    source_index=index,
                )
            )
        try:
            plb = _provider_adjustments(transaction.segments, component)
        except X12Error as exc:
            raise X12Error(
                str(exc).split(": ", 2)[-1], source=source, segment="PLB", position=exc.position
            ) from exc
        payer = str(model.loop_1000a.n1_segment.name or "")
        remittances.append(Remittance(payer, tuple(claims), tuple(plb)))
    return remittances


_LOOPS: Final = {"loop_2000": "LX", "loop_2100": "CLP", "loop_2110": "SVC"}


def _locate(segments: tuple[Segment, ...], exc: Exception) -> Segment:
    """The segment an x12sdk failure is about; the transaction's ST when it cannot be told.

    An unknown segment id (a ``KeyError``) is found by its id; a validation error's
    location (``loop_2000.0.loop_2100.1.loop_2110.2.svc_segment.<field>``) is followed
    through the LX, CLP and SVC segments that open those loops.
    """
    if isinstance(exc, KeyError) and exc.args:
        return next((s for s in segments if s.id == str(exc.args[0])), segments[0])
    if not isinstance(exc, ValidationError) or not exc.errors():
        return segments[0]
    location = [str(part) for part in exc.errors()[0]["loc"]]
    found, start = segments[0], 0
    for index, part in enumerate(location):
        opener = _LOOPS.get(part)
        if opener is not None and index + 1 < len(location) and location[index + 1].isdigit():
            wanted = int(location[index + 1])
            openers = [i for i in range(start, len(segments)) if segments[i].id == opener]
            if wanted >= len(openers):
                return found
            start = openers[wanted]
            found = segments[start]
        elif part.endswith("_segment"):
            name = part.removesuffix("_segment").upper()
            return next((s for s in segments[start:] if s.id == name), found)
    return found


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return f"segment {exc.args[0]} is not one the 835 has"
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
