"""JSON merge patch (RFC 7396) and the desired/reported delta; reading a desired-state patch from a request
body (the PATCH and its dry run take the same bodies)."""

from __future__ import annotations

import math
from typing import Any

from dtwin.contracts.inputs import DocumentError, check_properties_document, loads_document
from dtwin.contracts.limits import MAX_DESIRED_BYTES, MAX_DESIRED_DEPTH
from dtwin.errors import InvalidInput, UnsupportedMediaType

PATCH_MEDIA_TYPES = ("application/merge-patch+json", "application/json")


def read_desired_patch(content_type: str, body: bytes) -> dict[str, Any]:
    """The merge patch a request carries for the desired state: 415 for another media type, 422 for a body
    over MAX_DESIRED_BYTES, not JSON, not an object, deeper than MAX_DESIRED_DEPTH or with keys that are
    not property names."""
    if content_type.split(";")[0].strip() not in PATCH_MEDIA_TYPES:
        raise UnsupportedMediaType("send the patch as application/merge-patch+json (or application/json)")
    if len(body) > MAX_DESIRED_BYTES:
        raise InvalidInput(f"patch larger than {MAX_DESIRED_BYTES} bytes")
    try:
        patch = loads_document(body)
    except DocumentError as exc:
        raise InvalidInput(f"patch: {exc}") from exc
    return check_desired_patch(patch)


def check_desired_patch(patch: Any) -> dict[str, Any]:
    """The patch if it may be applied to a desired document (an object, keys property names, nested at
    most MAX_DESIRED_DEPTH levels, integers within int64), else InvalidInput."""
    if not isinstance(patch, dict):
        raise InvalidInput("a merge patch for desired state must be a JSON object")
    try:
        check_properties_document(patch, max_depth=MAX_DESIRED_DEPTH, where="desired")
    except DocumentError as exc:
        raise InvalidInput(str(exc)) from exc
    return patch


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
