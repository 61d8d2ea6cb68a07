"""Shared helpers for the IVL6xx Istio-validation parity rules (``rules/validation_*.py``).

The rules port Istio's Go config validation (``pkg/config/validation``; docs/semantics.md
§webhook-validation, and docs/validation-coverage.md rule by rule, whose ``H-`` ids are the
shared helpers below) so that a
repository gets the same IST0106 errors and IST0133 warnings as the admission webhook and
``istioctl analyze``, with the same message text, but pointed at the exact field.

Design:

* A kind's validator walks one resource once and returns a list of :class:`Issue`
  (level ``E``/``W``, field path, message, reference rule id).  The result is cached per
  resource, so the error rule, the warning rule and any dedicated rule of that kind share one
  pass.
* Checks whose condition is *identical* to a CRD OpenAPI/CEL constraint are left to the schema
  rules (IVL010/IVL011) so one mistake is reported once; ``docs/validation-coverage.md`` lists
  them.  Where Go validation is stricter than the CRD only the stricter part is reported here.
* Everything is type-tolerant: a field of the wrong type is skipped (IVL010 reports it).

Modules: ``issues`` (Issue, Issues, emit), ``gofmt`` (Go's %q/%v), ``values`` (typed access,
durations), ``names`` (hosts, addresses, ports, labels, exportTo), ``headers``, ``policy``
(connection pools, server TLS), ``regexp`` (validateStringRegexp; the Go regexp port itself is
``rules/_goregexp.py``), ``vs_hosts`` and ``vs_unreachable`` (VirtualService hosts, VS-63).  The names rules use are re-exported here, so a rule module writes
``from . import _validation_helpers as h`` and ``h.<name>``.
"""

from __future__ import annotations

from .gofmt import gofloat, gofloat_f, goq, gov  # noqa: F401
from .headers import (  # noqa: F401
    PSEUDO_HEADERS,
    cors_header_name_error,
    header_add_set_name_error,
    header_name_error,
    header_op_name_error,
    header_value_error,
    is_jwt_claim,
    match_header_name_error,
    probe_header_name_error,
)
from .issues import Issue, Issues, emit, errors_only, issues_of  # noqa: F401
from .names import (  # noqa: F401
    HTTP_PROTOCOLS,
    PROTOCOLS,
    TCP_PROTOCOLS,
    TLS_PROTOCOLS,
    _atoi_ok,
    dns_labels_error,
    dns_preconditions_error,
    export_to_issues,
    fqdn_error,
    ip_error,
    is_dns_label,
    is_ip,
    is_wildcard_label,
    label_errors,
    ns_slash_host_errors,
    parse_protocol,
    partial_wildcard_error,
    port_error,
    port_name_error,
    port_text,
    protocol_error,
    selector_issues,
    subnet_error,
    unix_address_error,
    wildcard_domain_error,
)
from .policy import CIPHER_SUITES, connection_pool_issues, server_tls_issues  # noqa: F401
from .regexp import string_regexp_error  # noqa: F401
from .values import (  # noqa: F401
    duration_errors,
    get_int,
    get_num,
    get_str,
    is_int,
    is_num,
    parse_duration,
    present,
    truthy,
    wrapped_bool,
    wrapped_num,
)
from .vs_hosts import SNI_FORMAT, gateway_bound_host_error, gateway_names, name_matches, name_subset_of  # noqa: F401
from .vs_unreachable import UNREACHABLE, unreachable_routes  # noqa: F401
