"""The Range header of a download, read as RFC 9110 §14.1-14.2 says: a ranges-specifier that is
invalid (another unit, a missing or malformed range-spec, last-pos before first-pos, anything
but ASCII digits) is ignored and the whole file is served (200); a valid one is served in the
parts of it that fall inside the file, and one with no such part is 416."""

from __future__ import annotations

import re

_INT_RANGE = re.compile(r"([0-9]+)-([0-9]*)", re.ASCII)
_SUFFIX_RANGE = re.compile(r"-([0-9]+)", re.ASCII)
_OWS = " \t"
# More parts than this is not a player seeking: the whole file is the better answer.
MAX_PARTS = 64


def usable_range(header: str, size: int) -> str | None:
    """The header to serve ``header`` with, for a file of ``size`` bytes: None to ignore it
    (serve the whole file); itself, reduced to its satisfiable range-specs, otherwise; an
    unsatisfiable one stays as it is, for the 416."""
    unit, equals, spec = header.partition("=")
    if not equals or unit.strip(_OWS).lower() != "bytes":
        return None
    parts = [p.strip(_OWS) for p in spec.split(",")]
    parts = [p for p in parts if p]  # a list's empty elements are allowed (RFC 9110 §5.6.1)
    if not parts or len(parts) > MAX_PARTS:
        return None
    satisfiable = []
    for part in parts:
        whole = _INT_RANGE.fullmatch(part)
        if whole is not None:
            first, last = int(whole.group(1)), whole.group(2)
            if last and int(last) < first:
                return None  # §14.1.1: an invalid int-range makes the specifier invalid
            if first < size:
                satisfiable.append(part)
            continue
        suffix = _SUFFIX_RANGE.fullmatch(part)
        if suffix is None:
            return None
        if int(suffix.group(1)) > 0 and size > 0:
            satisfiable.append(part)
    if not satisfiable:
        return header
    return "bytes=" + ",".join(satisfiable)
