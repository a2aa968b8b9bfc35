"""External causes after the condition they explain (ICD-10-CM Chapter 20, V00-Y99).

A coder codes the injury or condition; the external cause (how it happened, where, doing what,
in what status) is added to it and is never the first-listed diagnosis (Official Guidelines
I.C.20: external cause codes are used with a code of another chapter, chiefly an injury or
poisoning of Chapter 19, S00-T88; a place of occurrence, Y92, an activity, Y93, and an
external cause status, Y99, are reported only beside them). So in the suggestions, where the
words name both ("concussion playing football", "sprained wrist falling off a ladder"), the
injury ranks before its cause. A search for the cause alone ("fall from ladder", "playing
basketball") keeps its order: no code of Chapter 19 is offered to go before it, and a place,
activity or status goes after a code of another chapter only.
"""

from __future__ import annotations

from typing import Final

from fhir_coder.ports import Suggestion

__all__ = ["external_causes_last"]

_EXTERNAL: Final = ("V", "W", "X", "Y")
_ONLY_BESIDE: Final = ("Y92", "Y93", "Y99")
"""Place of occurrence, activity and external cause status (I.C.20.b, c, k): reported only
with another external cause code and the condition, never on their own."""
_INJURY: Final = ("S", "T")


def external_causes_last(found: list[Suggestion]) -> list[Suggestion]:
    """``found`` with its Chapter 20 codes after the injuries (and the conditions) they explain.

    An external cause goes after every offered injury or poisoning (S00-T88); a place,
    activity or status code after every offered code of another chapter. The order is
    otherwise kept.
    """
    injury = any(s.code.startswith(_INJURY) for s in found)
    other = any(not s.code.startswith(_EXTERNAL) for s in found)

    def later(suggestion: Suggestion) -> bool:
        code = suggestion.code
        if not code.startswith(_EXTERNAL):
            return False
        return injury or (other and code.startswith(_ONLY_BESIDE))

    first = [s for s in found if not later(s)]
    return first + [s for s in found if later(s)]
