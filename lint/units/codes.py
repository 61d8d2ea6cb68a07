"""The rule codes the unit machinery treats specially: which findings mean a resource is
rejected (it takes no part in resolution), which are the unit rules' own notices, and which
say "the other end of a reference does not exist" (another unit or a chart may define it).
Kept apart so that running (``run.py``) and adjusting (``adjust.py``) share one list."""

from __future__ import annotations

# Rules whose error findings mean the API server or Istio's validating webhook rejects the
# resource (schema, CRD CEL rules, Istio validation): such a resource never exists.
REJECTING = frozenset({"IVL010", "IVL011", "IVL600", "IVL610", "IVL620", "IVL630", "IVL632", "IVL633",
                       "IVL640", "IVL645", "IVL650", "IVL670", "IVL672", "IVL674", "IVL676", "IVL678"})

# The unit rules themselves (copies, unrendered kustomizations and charts).
UNIT_CODES = frozenset({"IVL750", "IVL751", "IVL752", "IVL753", "IVL754"})

# Findings that say "the other end of a reference does not exist": an unrendered chart may
# define it, so they are not reported above info while a chart is unrendered.
UNRESOLVED_REFERENCE = frozenset({"IVL101", "IVL102", "IVL106", "IVL107", "IVL108", "IVL110", "IVL181", "IVL501",
                                  "IVL502", "IVL503", "IVL506", "IVL508", "IVL590", "IVL720"})


NOTICE_CODES = frozenset({"IVL750", "IVL751", "IVL752", "IVL753"})


def single_resource_rule(code: str) -> bool:
    """Rules that look at one resource at a time (document, schema, Istio validation):
    run once per unit over every copy, before the rejected resources are taken out."""
    return code.startswith(("IVL0", "IVL6"))

