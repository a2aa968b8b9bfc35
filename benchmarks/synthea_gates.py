"""Which patients Synthea's modules can give each concept to: sex, and age at the record.

Synthea's module definitions (``src/main/resources/modules``, JSON state machines) gate their
concepts: a ``Gender`` or ``Age`` condition on a transition or a ``Guard``, an attribute another
state set under such a condition (``pregnant``), an active condition that is itself gated. This
reads every module, follows each path from its ``Initial`` state (and every ``CallSubmodule``
into its submodule) carrying what is known of the patient there, and returns, per concept of a
``ConditionOnset`` or ``Procedure`` state, the union over the paths that reach it: the sexes,
and the age band in years at the time of the record.

The answer is an over-approximation on purpose (a patient it excludes is one the modules can
never give the concept to; one it admits may still be rare): a condition it cannot read (race,
an observation, a date, a prior state) constrains nothing, the ``else`` branch of a conditional
transition is narrowed only by simple ``Gender`` and ``Age`` tests, and an age's upper bound
holds only until time passes (a ``Delay``, a ``Guard``'s wait, a wellness ``Encounter``, a
submodule) while the lower bound holds for ever (ages only grow) and grows by each ``Delay``'s
shortest wait (a module runs from birth: one that waits 14 years gives nothing to a child).
A state that records at a later encounter (``target_encounter``) keeps its lower bound only. Used by
``benchmarks/synthea_coverage.py --write`` to record the gates in
``tests/data/synthea_module_concepts.tsv``, which ``benchmarks/coverage.py`` follows when it
generates a population.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KINDS = {"ConditionOnset": "condition", "Procedure": "procedure"}
STEP = 7 / 365.25  # Synthea's time step (a week by default): a Guard is tested once a step
# An Encounter state waits while another module's encounter is open (State.Encounter): an
# assumption, not a fact of the modules, that no encounter stays open longer than a year.
ENCOUNTER_WAIT = 1.0
# States that take no time (State.java); any other state type may take any time.
_INSTANT = frozenset({
    "Initial", "Terminal", "Simple", "SetAttribute", "Counter", "ConditionOnset",
    "ConditionEnd", "AllergyOnset", "AllergyEnd", "MedicationOrder", "MedicationEnd",
    "CarePlanStart", "CarePlanEnd", "Observation", "MultiObservation", "DiagnosticReport",
    "ImagingStudy", "Symptom", "VitalSign", "EncounterEnd", "Device", "DeviceEnd",
    "SupplyList", "Vaccine", "Death",
})  # fmt: skip
_WIDEN_AFTER = 25  # a loop that keeps raising a state's upper bound has none...
_NARROW_ROUNDS = 40  # ...until a test caps it again
_PASSES = 60
_YEARS = {"years": 1.0, "months": 1 / 12, "weeks": 7 / 365.25, "days": 1 / 365.25,
          "hours": 1 / 8766, "minutes": 1 / 525960, "seconds": 1 / 31557600}  # fmt: skip
_SEXES = frozenset(("F", "M"))


@dataclass(frozen=True, slots=True)
class Gate:
    """Who can be at a state: the sexes, and the age in years, ``low <= age < high``.

    ``unset`` names attributes a state just set to false with no time passed since (so a
    Guard waiting for one of them cannot pass on arrival): it only lives inside a walk.
    """

    sexes: frozenset[str] = _SEXES
    low: float = 0.0
    high: float = math.inf
    unset: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not self.sexes or self.low >= self.high

    def meet(self, other: Gate) -> Gate:
        return Gate(
            self.sexes & other.sexes,
            max(self.low, other.low),
            min(self.high, other.high),
            self.unset | other.unset,
        )

    def join(self, other: Gate) -> Gate:
        if self.empty:
            return other
        if other.empty:
            return self
        return Gate(
            self.sexes | other.sexes,
            min(self.low, other.low),
            max(self.high, other.high),
            self.unset & other.unset,
        )

    def later(self, by: float = math.inf) -> Gate:
        """After at most ``by`` years pass: the sex and the lower age bound still hold, the
        upper moves by ``by`` (all of it when how long is not known), and another module may
        have set any attribute meanwhile."""
        return Gate(self.sexes, self.low, self.high + by)

    def plain(self) -> Gate:
        """The gate without what only a walk needs."""
        return Gate(self.sexes, self.low, self.high)

    def cell(self) -> tuple[str, str]:
        """The table's ``sex`` and ``age`` cells: ``F``/``M``/empty, ``low-high`` years."""
        sex = "" if self.sexes == _SEXES else "".join(sorted(self.sexes))
        # Rounded outwards to hundredths of a year, so the cell never narrows the gate.
        low = _down(self.low)
        if low <= 0 and self.high == math.inf:
            return sex, ""
        high = "" if self.high == math.inf else _number(_up(self.high))
        return sex, f"{_number(low)}-{high}"


NOWHERE = Gate(frozenset(), 0.0, 0.0)
ANYONE = Gate()
BIRTH = Gate(high=STEP)  # every module starts at the patient's birth


def _down(value: float) -> float:
    """Down to hundredths (a cell written and read back stays the same)."""
    return math.floor(value * 100 + 1e-6) / 100


def _up(value: float) -> float:
    return math.ceil(value * 100 - 1e-6) / 100


def _number(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.2f}".rstrip("0").rstrip(".")


def parse_cell(sex: str, age: str) -> Gate:
    """The gate a table row records (the inverse of :meth:`Gate.cell`)."""
    sexes = frozenset(sex) if sex else _SEXES
    if not age:
        return Gate(sexes)
    low, _, high = age.partition("-")
    return Gate(sexes, float(low), float(high) if high else math.inf)


class Facts:
    """What the whole set of modules knows so far: attributes' and concepts' gates."""

    def __init__(self, named_in_java: frozenset[str] = frozenset()) -> None:
        self.attributes: dict[str, Gate] = {}
        self.concepts: dict[tuple[str, str], Gate] = {}
        self.set_anywhere: set[str] = set()
        self.named_in_java = named_in_java
        self.lasting: dict[str, float] = {}  # submodule -> at most how long it runs (years)

    def attribute(self, name: str) -> Gate:
        # An attribute no module sets is set by Synthea's Java code, and one the Java code
        # sets too may be set at any age: nothing is known of them.
        if name not in self.set_anywhere or name in self.named_in_java:
            return ANYONE
        return self.attributes.get(name, NOWHERE).later()

    def attribute_set_by(self, name: str) -> float:
        """The oldest age at which a module sets the attribute (for ever when unknown)."""
        if name not in self.set_anywhere or name in self.named_in_java:
            return math.inf
        return self.attributes.get(name, NOWHERE).high

    def condition_begun_by(self, codes: Iterable[dict[str, Any]]) -> float:
        """The oldest age at which one of the conditions is recorded (for ever if unknown)."""
        keys = [("condition", str(c.get("code"))) for c in codes]
        if not keys or any(key not in self.concepts for key in keys):
            return math.inf
        return max(self.concepts[key].high for key in keys)

    def condition(self, codes: Iterable[dict[str, Any]]) -> Gate:
        keys = [("condition", str(c.get("code"))) for c in codes]
        if not keys or any(key not in self.concepts for key in keys):
            return ANYONE  # a concept no module emits (or a value set): unknown
        out = NOWHERE
        for key in keys:
            out = out.join(self.concepts[key].later())
        return out


def implies(condition: dict[str, Any] | None, facts: Facts) -> Gate:
    """The patients for whom ``condition`` can hold (``ANYONE`` when it cannot be read)."""
    if not condition:
        return ANYONE
    kind = condition.get("condition_type")
    if kind in ("Gender", "Age", "Not"):
        return _simple(condition)
    parts = [implies(part, facts) for part in condition.get("conditions", [])]
    if kind == "And":
        return _fold(Gate.meet, ANYONE, parts)
    if kind == "Or":
        return _fold(Gate.join, NOWHERE, parts)
    return _fact(condition, facts)


def _fact(condition: dict[str, Any], facts: Facts) -> Gate:
    """An ``Attribute`` or ``Active Condition`` test: what the facts know of it."""
    kind = condition.get("condition_type")
    if kind == "Attribute" and _holds_a_value(condition):
        return facts.attribute(str(condition.get("attribute")))
    if kind == "Active Condition" and condition.get("codes"):
        return facts.condition(condition["codes"])
    return ANYONE


def _fold(how: Callable[[Gate, Gate], Gate], start: Gate, parts: Iterable[Gate]) -> Gate:
    for part in parts:
        start = how(start, part)
    return start


def _simple(condition: dict[str, Any]) -> Gate:
    """A ``Gender``, ``Age`` or ``Not`` condition (the ones that need no facts)."""
    kind = condition.get("condition_type")
    if kind == "Gender":
        return Gate(frozenset({str(condition.get("gender"))}) & _SEXES)
    if kind == "Age":
        return _age(condition)
    return negate(condition.get("condition"))


def _holds_a_value(condition: dict[str, Any]) -> bool:
    """``== true``, ``is not nil``, ``> 0``...: the attribute was set to something."""
    operator, value = condition.get("operator"), condition.get("value")
    if operator == "is not nil":
        return True
    if operator == "==":
        return value not in (False, None, 0, "")
    return operator in (">", ">=") and isinstance(value, (int, float)) and value >= 0


def _age(condition: dict[str, Any]) -> Gate:
    unit = _YEARS.get(str(condition.get("unit", "years")))
    try:
        quantity = float(condition.get("quantity", 0)) * (unit or 0.0)
    except (TypeError, ValueError):
        return ANYONE
    if unit is None:
        return ANYONE
    step = unit  # '<= 17 years' admits 17.9
    return {
        "<": Gate(high=quantity),
        "<=": Gate(high=quantity + step),
        ">": Gate(low=quantity),
        ">=": Gate(low=quantity),
        "==": Gate(low=quantity, high=quantity + step),
    }.get(str(condition.get("operator")), ANYONE)


def negate(condition: dict[str, Any] | None) -> Gate:
    """What ``not condition`` implies, for the tests whose negation is a gate; else anyone."""
    kind = condition.get("condition_type") if condition else None
    if condition is None or kind not in ("Gender", "Age", "Not"):
        return ANYONE
    if kind == "Not":
        inner = condition.get("condition")
        simple = inner and inner.get("condition_type") in ("Gender", "Age")
        return _simple(inner) if simple else ANYONE
    if kind == "Gender":
        return Gate(_SEXES - {str(condition.get("gender"))})
    gate = _age(condition)
    if gate != ANYONE and gate.high == math.inf:
        return Gate(high=gate.low)
    if gate != ANYONE and gate.low == 0:
        return Gate(low=gate.high)
    return ANYONE


def _targets(state: dict[str, Any], at: Gate, facts: Facts) -> Iterable[tuple[str, Gate]]:
    """(next state, who can be there) for each transition out of ``state``."""
    if "direct_transition" in state:
        yield state["direct_transition"], at
    for branch in state.get("distributed_transition", []):
        yield branch.get("transition", ""), at
    rest = at
    for branch in state.get("conditional_transition", []):
        condition = branch.get("condition")
        yield branch.get("transition", ""), rest.meet(implies(condition, facts))
        rest = rest.meet(negate(condition)) if condition else NOWHERE
    rest = at
    for branch in state.get("complex_transition", []):
        condition = branch.get("condition")
        here = rest.meet(implies(condition, facts))
        for way in branch.get("distributions", []):
            yield way.get("transition", ""), here
        if "transition" in branch:
            yield branch["transition"], here
        rest = rest.meet(negate(condition)) if condition else NOWHERE
    table = state.get("lookup_table_transition")
    for way in table.get("transitions", []) if isinstance(table, dict) else table or []:
        if isinstance(way, dict):
            yield way.get("transition", ""), at


def _wait(state: dict[str, Any]) -> tuple[float, float]:
    """A Delay's (or a Procedure's) shortest and longest wait, in years (0 and for ever when
    it cannot be read): ``exact``, ``range``, or a uniform or exact ``distribution``."""
    exact, window, spread = state.get("exact"), state.get("range"), state.get("distribution")
    if isinstance(exact, dict):
        low = high = exact.get("quantity")
        unit = exact.get("unit")
    elif isinstance(window, dict):
        low, high, unit = window.get("low"), window.get("high"), window.get("unit")
    elif isinstance(spread, dict) and spread.get("kind") in ("UNIFORM", "EXACT"):
        parameters = spread.get("parameters") or {}
        low = parameters.get("low", parameters.get("value"))
        high = parameters.get("high", parameters.get("value"))
        unit = state.get("unit")
    else:
        return 0.0, math.inf
    years = _YEARS.get(str(unit))
    numbers = all(isinstance(v, (int, float)) and v >= 0 for v in (low, high))
    if years is None or not numbers:
        return 0.0, math.inf
    return float(low) * years, float(high) * years


def _true_by(allow: dict[str, Any] | None, facts: Facts) -> float:
    """The latest age at which ``allow`` can first become true (for ever when unknown).

    A Guard waiting on it passes at the first time step it holds: an age bound once the age
    is reached, an attribute once a module sets it (at most the setter's upper bound), an
    active condition once it begins (at most the upper bound of its record). Ages and
    gender that do not hold on arrival never will, which adds nothing to the wait.
    """
    kind = allow.get("condition_type") if allow else None
    found = math.inf
    if allow is None or kind is None:
        pass
    elif kind == "Gender":
        found = 0.0
    elif kind == "Age":
        gate = _age(allow)
        found = math.inf if gate == ANYONE else gate.low
    elif kind == "Or":
        found = max((_true_by(p, facts) for p in allow.get("conditions", [])), default=0.0)
    elif kind == "Attribute" and _holds_a_value(allow):
        found = facts.attribute_set_by(str(allow.get("attribute")))
    elif kind == "Active Condition" and allow.get("codes"):
        found = facts.condition_begun_by(allow["codes"])
    return found


def _guard(state: dict[str, Any], at: Gate, facts: Facts) -> Gate:
    """A Guard passes on arrival if its test holds then (no older than the arrival), else at
    the first step the test comes to hold; an attribute just unset cannot hold on arrival."""
    allow = state.get("allow") or {}
    waits_for = allow.get("attribute") if allow.get("condition_type") == "Attribute" else None
    arrival = -math.inf if waits_for in at.unset and _holds_a_value(allow) else at.high
    high = max(arrival, _true_by(allow, facts) + STEP)
    return Gate(at.sexes, at.low, high).meet(implies(allow, facts))


def _marked(state: dict[str, Any], at: Gate) -> Gate:
    """``at`` with the attribute the state sets to false (or to a value) noted."""
    named = state.get("attribute") or state.get("assign_to_attribute")
    if not named:
        return at
    unset = state.get("type") == "SetAttribute" and state.get("value") in (False, None)
    if unset and "distribution" not in state and "expression" not in state:
        return Gate(at.sexes, at.low, at.high, at.unset | {str(named)})
    return Gate(at.sexes, at.low, at.high, at.unset - {str(named)})


def _takes(state: dict[str, Any], facts: Facts | None = None) -> float:
    """At most how long (years) a state other than a Delay or Guard holds the module."""
    kind = state.get("type")
    if kind == "CallSubmodule" and facts is not None:
        return facts.lasting.get(str(state.get("submodule")), math.inf)
    if kind == "Procedure":
        # A Procedure with a duration holds the module until it ends (State.Procedure).
        timed = "duration" in state or "distribution" in state
        duration = state.get("duration")
        spec = {"range": duration} if isinstance(duration, dict) else state
        return _wait(spec)[1] if timed else 0.0
    if kind == "Encounter" and not state.get("wellness"):
        return ENCOUNTER_WAIT
    # A submodule, the next wellness visit, a Physiology simulation: how long is not known.
    return 0.0 if kind in _INSTANT else math.inf


def _entering(state: dict[str, Any], at: Gate, facts: Facts) -> Gate:
    """Who can leave ``state`` having entered it as ``at``: time passes, guards narrow."""
    kind = state.get("type")
    if kind == "Delay":
        # At least the shortest wait older (a module that waits 14 years from birth gives
        # nothing to a child) and at most the longest.
        shortest, longest = _wait(state)
        return Gate(at.sexes, at.low + shortest, at.high + longest)
    if kind == "Guard":
        return _guard(state, at, facts)
    at = _marked(state, at)
    takes = _takes(state, facts)
    return at.later(takes) if takes else at


def walk(module: dict[str, Any], start: Gate, facts: Facts, calls: dict[str, Gate]) -> bool:
    """Propagate ``start`` through one module; record concepts, attributes and calls.

    Returns whether anything the facts hold grew (the caller iterates to a fixed point).
    """
    states: dict[str, Any] = module.get("states", {})
    at: dict[str, Gate] = {}
    raised: dict[str, int] = {}
    work = ["Initial"] if "Initial" in states else []
    if work:
        at["Initial"] = start
    grew = False
    while work:
        here = work.pop()
        state = states.get(here, {})
        gate = _entering(state, at[here], facts)
        for target, then in _targets(state, gate, facts):
            if target not in states or then.empty:
                continue
            joined = at.get(target, NOWHERE).join(then)
            if joined == at.get(target):
                continue
            if target in at and joined.high > at[target].high:
                raised[target] = raised.get(target, 0) + 1
                if raised[target] > _WIDEN_AFTER:
                    joined = joined.later()
            at[target] = joined
            work.append(target)
    at = _narrow(states, start, at, facts)
    for name, entered in at.items():
        grew |= _record_attribute(states[name], _entering(states[name], entered, facts),
                                  facts, calls, entered)  # fmt: skip
        grew |= _record_concepts(states[name], entered, at, states, facts)
    return grew


def _narrow(
    states: dict[str, Any], start: Gate, at: dict[str, Gate], facts: Facts
) -> dict[str, Gate]:
    """Recompute every state from its predecessors a few times (a descending iteration).

    Widening a loop's bound to 'for ever' loses the cap a later test puts back (a cycle of
    the female reproduction module runs until 50); applying the transitions again to the
    widened result keeps every bound sound and recovers such caps.
    """
    for _ in range(_NARROW_ROUNDS):
        fresh: dict[str, Gate] = {"Initial": start} if "Initial" in states else {}
        for here, gate in at.items():
            for target, then in _targets(states[here], _entering(states[here], gate, facts),
                                         facts):  # fmt: skip
                if target in states and not then.empty:
                    fresh[target] = fresh.get(target, NOWHERE).join(then)
        if fresh == at:
            break
        at = fresh
    return at


def _record_concepts(
    state: dict[str, Any],
    entered: Gate,
    at: dict[str, Gate],
    states: dict[str, Any],
    facts: Facts,
) -> bool:
    """A ConditionOnset's or Procedure's concepts, at the age of their record.

    A condition whose ``target_encounter`` is still to come is recorded at that encounter:
    no younger than at the onset, and no older than anyone reaching the encounter's state.
    """
    kind = KINDS.get(str(state.get("type")))
    if not kind:
        return False
    record = entered
    target = state.get("target_encounter")
    if target:
        # Recorded when the target encounter starts: the exit of its state.
        arrive = at.get(str(target), ANYONE)
        later = _entering(states.get(str(target), {}), arrive, facts).high
        record = Gate(entered.sexes, entered.low, max(entered.high, later))
    record = record.plain()
    grew = False
    for code in state.get("codes", []):
        if code.get("system") == "SNOMED-CT":
            key = (kind, str(code["code"]))
            joined = facts.concepts.get(key, NOWHERE).join(record)
            if joined != facts.concepts.get(key):
                facts.concepts[key] = joined
                grew = True
    return grew


def _record_attribute(
    state: dict[str, Any], gate: Gate, facts: Facts, calls: dict[str, Gate], entered: Gate
) -> bool:
    """An attribute the state sets (at its own age), and a submodule it calls."""
    grew = False
    attribute = state.get("attribute") or state.get("assign_to_attribute")
    if attribute and (state.get("type") != "SetAttribute" or state.get("value") not in
                      (False, None)):  # fmt: skip
        joined = facts.attributes.get(attribute, NOWHERE).join(gate.plain())
        if joined != facts.attributes.get(attribute):
            facts.attributes[attribute] = joined
            grew = True
    if state.get("type") == "CallSubmodule" and state.get("submodule"):
        sub = str(state["submodule"])
        calls[sub] = calls.get(sub, NOWHERE).join(entered.plain())
    return grew


def load(modules: Path) -> dict[str, dict[str, Any]]:
    """Every module, by its path under ``modules`` without ``.json`` (how submodules are called)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(modules.rglob("*.json")):
        try:
            module = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            sys.stderr.write(f"skipped {path}: {exc}\n")
            continue
        if isinstance(module, dict) and isinstance(module.get("states"), dict):
            found[path.relative_to(modules).with_suffix("").as_posix()] = module
    return found


_CONSTANT = re.compile(r'\b([A-Z][A-Z0-9_]*)\s*=\s*"([A-Za-z][\w-]*)"')
_PUT = re.compile(r'(?:\b(\w+)\.)?attributes\.put\(\s*(?:"([^"]+)"|(?:\w+\.)?([A-Z][A-Z0-9_]*)\b)')
_TEMPORARY = re.compile(r"\bPerson\s+(\w+)\s*=\s*new\s+Person\(")


def java_names(checkout: Path) -> frozenset[str]:
    """The attributes Synthea's Java code sets on a patient during the simulation.

    Every ``attributes.put`` whose name is a literal or a constant, except in the exporters
    (which run after the simulation) and on a ``Person`` the code creates for its own use
    (the temporary mother of a newborn's birth statistics).
    """
    files = [
        path.read_text(encoding="utf-8", errors="replace")
        for path in (checkout / "src" / "main" / "java").rglob("*.java")
        if "export" not in path.parts
    ]
    constants = {name: value for text in files for name, value in _CONSTANT.findall(text)}
    found: set[str] = set()
    for text in files:
        temporary = set(_TEMPORARY.findall(text))
        for receiver, literal, constant in _PUT.findall(text):
            if receiver in temporary:
                continue
            name = literal or constants.get(constant, "")
            if name:
                found.add(name)
    return frozenset(found)


def gates(checkout: Path) -> dict[tuple[str, str], Gate]:
    """(kind, SNOMED CT code) -> who the modules of a Synthea checkout can give it to."""
    loaded = load(checkout / "src" / "main" / "resources" / "modules")
    facts = Facts(java_names(checkout))
    facts.set_anywhere = {
        str(name)
        for module in loaded.values()
        for state in module["states"].values()
        if (name := state.get("attribute") or state.get("assign_to_attribute"))
    }
    facts.lasting = lasting(loaded)
    for _ in range(_PASSES):  # a fixed point: the facts only grow
        if not _one_pass(loaded, facts):
            break
    else:  # what the facts hold would not be a fixed point, so not a sound gate either
        raise RuntimeError(f"the gates of {checkout} did not settle in {_PASSES} passes")
    # A concept only a state nobody reaches emits (a submodule nobody calls by that name):
    # nothing is known of it.
    for module in loaded.values():
        for state in module["states"].values():
            kind = KINDS.get(str(state.get("type")))
            for code in state.get("codes", []) if kind else ():
                if code.get("system") == "SNOMED-CT":
                    facts.concepts.setdefault((kind, str(code["code"])), ANYONE)
    return {key: gate if not gate.empty else ANYONE for key, gate in facts.concepts.items()}


def lasting(loaded: dict[str, dict[str, Any]]) -> dict[str, float]:
    """At most how long (years) each module runs from its Initial state to a Terminal one.

    The longest path through the state graph, every transition taken whatever its condition
    (which only adds paths), each state weighing its longest hold: a Delay's longest wait, a
    timed Procedure, an Encounter's wait, a called submodule's own length; a Guard or a
    wellness visit, or a cycle through any state that takes time, has no bound.
    """
    found: dict[str, float] = {}
    for _ in range(len(loaded) + 1):  # submodules of submodules, to a fixed point
        fresh = {name: _longest(module["states"], found) for name, module in loaded.items()}
        if fresh == found:
            break
        found = fresh
    return found


def _hold(state: dict[str, Any], found: dict[str, float]) -> float:
    """At most how long a state holds the module, a submodule's call taking its length."""
    kind = state.get("type")
    if kind == "Delay":
        return _wait(state)[1]
    if kind == "Guard":
        return math.inf
    if kind == "CallSubmodule":
        return found.get(str(state.get("submodule")), math.inf)
    return _takes(state)


def _longest(states: dict[str, Any], found: dict[str, float]) -> float:
    """The longest Initial-to-Terminal time through ``states`` (Bellman-Ford on maxima)."""
    if "Initial" not in states:
        return math.inf
    reach: dict[str, float] = {"Initial": 0.0}
    for _ in range(len(states) + 1):
        changed = False
        for name, at in list(reach.items()):
            state = states.get(name, {})
            after = at + _hold(state, found)
            for target, _ in _targets(state, ANYONE, Facts()):
                if target in states and after > reach.get(target, -math.inf):
                    reach[target] = after
                    changed = True
        if not changed:
            ends = [t for n, t in reach.items() if states[n].get("type") == "Terminal"]
            return max(ends, default=0.0)
    return math.inf  # still growing: a cycle that takes time


def _one_pass(loaded: dict[str, dict[str, Any]], facts: Facts) -> bool:
    """Walk every module once (submodules from their callers); whether the facts grew."""
    calls: dict[str, Gate] = {}
    grew = False
    for name, module in loaded.items():
        # Top-level modules run for everyone from birth; a submodule runs when called.
        if "/" not in name:
            grew |= walk(module, BIRTH, facts, calls)
    for _ in range(10):  # submodules calling submodules
        more: dict[str, Gate] = {}
        for name, start in list(calls.items()):
            if name in loaded and not start.empty:
                grew |= walk(loaded[name], start, facts, more)
        fresh = {k: v.join(calls.get(k, NOWHERE)) for k, v in more.items()}
        if all(calls.get(k) == v for k, v in fresh.items()):
            break
        calls.update(fresh)
    return grew


# Synthea gives a scheduled vaccine at a wellness visit when the patient is at least one of
# its ages and less than 48 months past it (modules/Immunizations.java, immunizationDue).
_CATCH_UP_MONTHS = 48


def vaccine_ages(checkout: Path) -> dict[str, tuple[str, list[tuple[float, float]]]]:
    """CVX code -> (display, the age bands in years Synthea's schedule gives it in)."""
    path = checkout / "src" / "main" / "resources" / "immunization_schedule.json"
    schedule: Any = json.loads(path.read_text(encoding="utf-8"))
    found: dict[str, tuple[str, list[tuple[float, float]]]] = {}
    for entry in schedule.values():
        code = entry.get("code") or {}
        bands = [(m / 12, (m + _CATCH_UP_MONTHS) / 12) for m in entry.get("at_months", [])]
        cvx = str(code.get("code"))
        _, known = found.get(cvx, ("", []))
        found[cvx] = (str(code.get("display", "")), merge_bands([*known, *bands]))
    return found


def merge_bands(bands: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """The union of age bands, as few disjoint bands in order."""
    merged: list[tuple[float, float]] = []
    for low, high in sorted(bands):
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def bands_cell(bands: list[tuple[float, float]]) -> str:
    """``low-high;low-high`` in years, rounded outwards to hundredths."""
    return ";".join(f"{_number(_down(low))}-{_number(_up(high))}" for low, high in bands)


def parse_bands(cell: str) -> list[tuple[float, float]]:
    """The inverse of :func:`bands_cell`."""
    return [
        (float(low), float(high))
        for low, _, high in (part.partition("-") for part in cell.split(";") if part)
    ]
