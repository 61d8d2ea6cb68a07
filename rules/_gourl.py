"""Go's ``net/url`` parsing, as far as Istio's validation and the CRDs' CEL rules depend on it.

``url.Parse`` and ``url.ParseRequestURI`` accept or reject a string, and give its scheme
(lower-cased), host and port.  Three places rest on it: the WasmPlugin CEL rule on ``url``
(``isURL(self) ? url(self).getScheme() in [...] : ...``; Kubernetes' CEL ``isURL`` is
``ParseRequestURI`` succeeding, ``url()`` needs ``ParseRequestURI`` and ``Parse`` to succeed),
Istio's ``strictParseURL`` for the same field, and ``security.ParseJwksURI`` (``url.Parse``)
for RequestAuthentication ``jwksUri``.

Ported from Go's ``net/url`` (``parse``, ``getScheme``, ``parseAuthority``, ``parseHost``,
``unescape`` in its host, path, user-info and fragment modes): the accept/reject verdict and
the messages of the errors Istio shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Union

_HEX = frozenset("0123456789abcdefABCDEF")
# Characters Go's shouldEscape(c, encodeHost) refuses in a host (besides control bytes, which
# parse rejects first, and '/', '?', '@', which never reach the host).
_BAD_HOST = frozenset(' #\\^`{|}')
_USERINFO = re.compile(r"[A-Za-z0-9\-._:~!$&'()*+,;=%@]*\Z")


@dataclass(frozen=True)
class GoURL:
    """A URL as Go's ``net/url.Parse`` splits it (the parts the validators read)."""

    scheme: str
    host: str  # with the port, as Go's URL.Host
    opaque: str = ""

    @property
    def port(self) -> str:
        """``URL.Port()``: the digits after the host's last colon (outside brackets)."""
        host = self.host
        colon = host.rfind(":")
        if colon == -1 or "]" in host[colon:]:
            return ""
        port = host[colon + 1:]
        return port if port.isdigit() and port.isascii() else ""


class URLError(ValueError):
    pass


def _unescape_check(s: str, mode: str) -> None:
    i = 0
    while i < len(s):
        c = s[i]
        if c == "%":
            if i + 2 >= len(s) or s[i + 1] not in _HEX or s[i + 2] not in _HEX:
                raise URLError(f'invalid URL escape "{s[i:i + 3]}"')
            if mode == "host" and int(s[i + 1], 16) < 8 and s[i:i + 3] != "%25":
                raise URLError(f'invalid URL escape "{s[i:i + 3]}"')
            i += 3
            continue
        if mode == "host" and ord(c) < 0x80 and c in _BAD_HOST:
            raise URLError(f'invalid character "{c}" in host name')
        i += 1


def _valid_optional_port(port: str) -> bool:
    if port == "":
        return True
    return port[0] == ":" and all("0" <= ch <= "9" for ch in port[1:])


def _parse_host(host: str) -> str:
    if host.startswith("["):
        i = host.rfind("]")
        if i < 0:
            raise URLError("missing ']' in host")
        colon_port = host[i + 1:]
        if not _valid_optional_port(colon_port):
            raise URLError(f'invalid port "{colon_port}" after host')
    else:
        i = host.rfind(":")
        if i != -1 and not _valid_optional_port(host[i:]):
            raise URLError(f'invalid port "{host[i:]}" after host')
    _unescape_check(host, "host")
    return host


def _get_scheme(raw: str) -> tuple[str, str]:
    for i, c in enumerate(raw):
        if "a" <= c <= "z" or "A" <= c <= "Z":
            continue
        if "0" <= c <= "9" or c in "+-.":
            if i == 0:
                return "", raw
            continue
        if c == ":":
            if i == 0:
                raise URLError("missing protocol scheme")
            return raw[:i], raw[i + 1:]
        return "", raw  # an invalid character: no valid scheme
    return "", raw


def _parse(raw: str, via_request: bool) -> GoURL:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise URLError("net/url: invalid control character in URL")
    if raw == "" and via_request:
        raise URLError("empty url")
    if raw == "*":
        return GoURL("", "")
    scheme, rest = _get_scheme(raw)
    scheme = scheme.lower()
    rest = rest[:-1] if rest.endswith("?") and rest.count("?") == 1 else rest.partition("?")[0]
    if not rest.startswith("/"):
        if scheme:
            return GoURL(scheme, "", opaque=rest)
        if via_request:
            raise URLError("invalid URI for request")
        if ":" in rest.partition("/")[0]:
            raise URLError("first path segment in URL cannot contain colon")
    host = ""
    if (scheme or (not via_request and not rest.startswith("///"))) and rest.startswith("//"):
        authority, slash, tail = rest[2:].partition("/")
        rest = slash + tail
        at = authority.rfind("@")
        if at >= 0:
            userinfo = authority[:at]
            if not _USERINFO.match(userinfo):
                raise URLError("net/url: invalid userinfo")
            _unescape_check(userinfo, "userinfo")
            host = _parse_host(authority[at + 1:])
        else:
            host = _parse_host(authority)
    _unescape_check(rest, "path")
    return GoURL(scheme, host)


def _quoted(raw: str) -> str:
    return '"' + raw.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse(raw: str) -> Union[GoURL, str]:
    """``url.Parse``: the URL, or Go's error text (``parse "<raw>": <reason>``)."""
    u, _, frag = raw.partition("#")
    try:
        out = _parse(u, False)
        _unescape_check(frag, "fragment")
        return out
    except URLError as e:
        return f"parse {_quoted(raw)}: {e}"


def parse_request_uri(raw: str) -> Union[GoURL, str]:
    """``url.ParseRequestURI``: no fragment is split off; relative references are errors."""
    try:
        return _parse(raw, True)
    except URLError as e:
        return f"parse {_quoted(raw)}: {e}"


def cel_url_scheme(raw: str) -> Optional[str]:
    """Kubernetes CEL ``url(raw).getScheme()``, or None where ``url()`` is an error."""
    u = parse_request_uri(raw)
    if isinstance(u, str) or isinstance(parse(raw), str):
        return None
    return u.scheme


def cel_is_url(raw: str) -> bool:
    """Kubernetes CEL ``isURL(raw)``."""
    return not isinstance(parse_request_uri(raw), str)
