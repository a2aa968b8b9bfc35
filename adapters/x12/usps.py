"""US state and territory names to their USPS codes: N4 carries the two-letter code.

EHRs send ``Address.state`` as the code or as the name (Synthea writes "Massachusetts");
the 837 wants the code. A public fact (USPS Publication 28, Appendix B), kept as data.
"""

from __future__ import annotations

from typing import Final

__all__ = ["STATE_CODES", "state_code"]

STATE_CODES: Final = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA",
    "COLORADO": "CO", "CONNECTICUT": "CT", "DELAWARE": "DE", "DISTRICT OF COLUMBIA": "DC",
    "FLORIDA": "FL", "GEORGIA": "GA", "HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL",
    "INDIANA": "IN", "IOWA": "IA", "KANSAS": "KS", "KENTUCKY": "KY", "LOUISIANA": "LA",
    "MAINE": "ME", "MARYLAND": "MD", "MASSACHUSETTS": "MA", "MICHIGAN": "MI",
    "MINNESOTA": "MN", "MISSISSIPPI": "MS", "MISSOURI": "MO", "MONTANA": "MT",
    "NEBRASKA": "NE", "NEVADA": "NV", "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ",
    "NEW MEXICO": "NM", "NEW YORK": "NY", "NORTH CAROLINA": "NC", "NORTH DAKOTA": "ND",
    "OHIO": "OH", "OKLAHOMA": "OK", "OREGON": "OR", "PENNSYLVANIA": "PA",
    "RHODE ISLAND": "RI", "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD", "TENNESSEE": "TN",
    "TEXAS": "TX", "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA", "WASHINGTON": "WA",
    "WEST VIRGINIA": "WV", "WISCONSIN": "WI", "WYOMING": "WY", "AMERICAN SAMOA": "AS",
    "GUAM": "GU", "NORTHERN MARIANA ISLANDS": "MP", "PUERTO RICO": "PR",
    "VIRGIN ISLANDS": "VI", "U.S. VIRGIN ISLANDS": "VI",
}  # fmt: skip
_CODES: Final = frozenset(STATE_CODES.values()) | {"AA", "AE", "AP"}  # + armed forces


def state_code(text: str) -> str | None:
    """The USPS code of ``text`` (a code or a name, any case); None when it names none."""
    cleaned = " ".join(text.replace(".", ". ").split()).upper().replace(". ", ".")
    if cleaned in _CODES:
        return cleaned
    return STATE_CODES.get(cleaned)
