"""JSON merge patch (RFC 7396) and the desired/reported delta."""

from __future__ import annotations

import math
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7396 merge patch: objects merge recursively, `null` deletes a member, anything else
    replaces the target."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def delta(desired: dict[str, Any], reported: dict[str, Any]) -> dict[str, Any]:
    """Desired properties that the reported state does not match yet (nested objects compared per member)."""
    out: dict[str, Any] = {}
    for key, want in desired.items():
        have = reported.get(key)
        if isinstance(want, dict) and isinstance(have, dict):
            sub = delta(want, have)
            if sub:
                out[key] = sub
        elif not _same(want, have):
            out[key] = want
    return out
