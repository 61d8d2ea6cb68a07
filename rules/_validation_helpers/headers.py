"""HTTP header names and values (VirtualService header operations, CORS, probes)."""

from __future__ import annotations

import functools
import re
from typing import Optional

from .gofmt import goq

# Go's class "[!#$%&'*+-.^_`|~A-Za-z0-9]": "+-." is a range, so "," is accepted too.
_TOKEN_RE = re.compile(r"^[!#$%&'*+-.^_`|~A-Za-z0-9]+$")
_PROBE_HEADER_RE = re.compile(r"^[-A-Za-z0-9]+$")
PSEUDO_HEADERS = {":method", ":scheme", ":authority", ":path", ":status"}


def is_jwt_claim(name: str) -> bool:
    """``jwt.ToRoutingClaim(name).Match``: ``@request.auth.claims.x`` or ``...claims[x]``."""
    prefix = "@request.auth.claims"
    if not name.lower().startswith(prefix):
        return False
    rest = name[len(prefix):]
    return (rest.startswith(".") and len(rest) > 1) or (rest.startswith("[") and rest.endswith("]") and len(rest) > 2)


def header_name_error(name: str) -> Optional[str]:
    """``ValidateStrictHTTPHeaderName``: an RFC 7230 token."""
    if name == "":
        return "header name cannot be empty"
    if not _TOKEN_RE.match(name):
        return f"header name {name} is not a valid header name"
    return None


def match_header_name_error(name: str) -> Optional[str]:
    """``ValidateHTTPHeaderNameOrJwtClaimRoute`` (VS-27)."""
    if name == "":
        return "header name cannot be empty"
    if is_jwt_claim(name) or name in PSEUDO_HEADERS:
        return None
    return header_name_error(name)


def cors_header_name_error(name: str) -> Optional[str]:
    if name == "*":
        return None
    return header_name_error(name)


def probe_header_name_error(name: str) -> Optional[str]:
    """``ValidateProbeHeaderName`` (WG-07)."""
    if name == "":
        return "header name cannot be empty"
    if not _PROBE_HEADER_RE.match(name):
        return f"header name {name} is not a valid header name"
    return None


def _is_authority(name: str) -> bool:
    return name.lower() in ("host", ":authority")


def header_add_set_name_error(name: str) -> Optional[str]:
    """``ValidateHTTPHeaderWithAuthorityOperationName`` (request add/set)."""
    if name == "":
        return "header name cannot be empty"
    if name.startswith(":") and not _is_authority(name):
        return f'invalid header {goq(name)}: header cannot have ":" prefix'
    return None


def header_op_name_error(name: str) -> Optional[str]:
    """``ValidateHTTPHeaderOperationName`` (request remove, all response operations)."""
    if name == "":
        return "header name cannot be empty"
    if name.lower() == "host":
        return f"invalid header {goq(name)}: cannot set Host header"
    if name.startswith(":"):
        return f'invalid header {goq(name)}: header cannot have ":" prefix'
    return None


_CTRL_RE = re.compile("[\u0000-\u0008\u000A-\u001F\u007F]")


@functools.lru_cache(maxsize=4096)
def header_value_error(value: str) -> Optional[str]:
    """``ValidateHTTPHeaderValue``: control characters, then Envoy's %VAR% syntax."""
    if _CTRL_RE.search(value):
        return f"header value configuration {value} is invalid"
    err = _envoy_header_value_error(value)
    return f"header value configuration: {err}" if err else None


def _envoy_header_value_error(value: str) -> Optional[str]:
    """Port of ``header_value_validator.go`` (itself a port of Envoy's header parser)."""
    data = value.encode("utf-8", "surrogatepass")
    literal, var, exp_array, exp_string, string, exp_delim, exp_args_end, exp_var_end = range(8)
    state = literal
    pos = 0
    n = len(data)
    while pos < n:
        ch = chr(data[pos])
        has_next = pos + 1 < n
        if state == literal:
            if ch == "%":
                if not has_next:
                    return "invalid header configuration. Un-escaped %"
                if chr(data[pos + 1]) == "%":
                    pos += 1
                else:
                    state = var
        elif state == var:
            if ch == "%":
                state = literal
            elif ch == "(":
                state = exp_array
        elif state == exp_array:
            if ch == "[":
                state = exp_string
            elif ch != " ":
                state = string
        elif state == exp_delim:
            if ch == ",":
                state = exp_string
            elif ch == "]":
                state = exp_args_end
            elif ch != " ":
                return "invalid header configuration. Expecting ',', ']', or whitespace"
        elif state == exp_string:
            if ch == '"':
                state = string
            elif ch != " ":
                return "invalid header configuration. Expecting '\"'"
        elif state == string:
            if ch == "\\":
                if not has_next:
                    return "invalid header configuration. Un-terminated backslash in JSON string"
                pos += 1
            elif ch == ")":
                state = exp_var_end
            elif ch == '"':
                state = exp_delim
        elif state == exp_args_end:
            if ch == ")":
                state = exp_var_end
            elif ch != " ":
                return "invalid header configuration. Expecting ')' or whitespace after '{}', but found '{}'"
        elif state == exp_var_end:
            if ch == "%":
                state = literal
            elif ch != " ":
                return "invalid header configuration. Expecting '%' or whitespace after"
        pos += 1
    if state != literal:
        return f"invalid header configuration. Un-terminated variable expression '{value}'"
    return None
