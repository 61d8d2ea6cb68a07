"""IVL006-IVL008: Kubernetes object metadata the API server rejects.

Before any Istio validation runs, the Kubernetes API server validates every object's
``metadata`` (``ValidateObjectMeta`` in k8s.io/apimachinery) and a few Kubernetes fields
with the same helpers (``k8s.io/apimachinery/pkg/util/validation``).  A file that fails them
is never stored, whatever its spec says.  The messages below are the API server's, in its
``<field>: Invalid value: "<value>": <detail>`` form.

Values holding ``{{`` are unrendered templates (IVL001 reports unparsable ones); they are
not judged here.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Optional

from istio_vm_lint.findings import FieldPath, Problem, format_path
from istio_vm_lint.model import (
    KIND_NAMES,
    KINDS,
    WORKLOAD_EXTENSION_KINDS,
    OpaqueWorkload,
    Resource,
    WorkloadController,
    as_list,
    as_map,
)
from istio_vm_lint.placeholders import is_placeholder
from istio_vm_lint.rule import Context, rule

# --- k8s.io/apimachinery/pkg/util/validation, verbatim messages ----------------------------


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    """``validation.RegexError`` (its odd ``',  or '`` spacing included)."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    return msg + " (e.g. " + "".join((" or " if i else "") + f"'{e}', " for i, e in enumerate(examples)) \
        + f"regex used for validation is '{fmt}')"


def _max_len(n: int) -> str:
    return f"must be no more than {n} characters"


_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
              "and must start and end with an alphanumeric character")
_SUBDOMAIN_FMT = _LABEL_FMT + "(\\." + _LABEL_FMT + ")*"
_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                  "and must start and end with an alphanumeric character")
_DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                "alphabetic character, and end with an alphanumeric character")
_QUALIFIED_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                  "alphanumeric character")
_LABEL_VALUE_FMT = "(" + _QUALIFIED_FMT + ")?"
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                    "and must start and end with an alphanumeric character")

_LABEL_RE = re.compile(_LABEL_FMT)
_SUBDOMAIN_RE = re.compile(_SUBDOMAIN_FMT)
_DNS1035_RE = re.compile(_DNS1035_FMT)
_QUALIFIED_RE = re.compile(_QUALIFIED_FMT)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)


def _full(regex: "re.Pattern[str]", value: str) -> bool:
    # Go anchors with ^...$, where $ does not match before a trailing newline (unlike Python's).
    return regex.fullmatch(value) is not None


def dns1123_label(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append(_max_len(63))
    if not _full(_LABEL_RE, value):
        errs.append(_regex_error(_LABEL_MSG, _LABEL_FMT, "my-name", "123-abc"))
    return errs


def dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append(_max_len(253))
    if not _full(_SUBDOMAIN_RE, value):
        errs.append(_regex_error(_SUBDOMAIN_MSG, _SUBDOMAIN_FMT, "example.com"))
    return errs


def dns1035_label(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append(_max_len(63))
    if not _full(_DNS1035_RE, value):
        errs.append(_regex_error(_DNS1035_MSG, _DNS1035_FMT, "my-name", "abc-123"))
    return errs


def qualified_name(value: str) -> list[str]:
    """``IsQualifiedName``: a label (or annotation) key."""
    parts = value.split("/")
    errs: list[str] = []
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in dns1123_subdomain(prefix))
    else:
        return ["a qualified name " + _regex_error(_QUALIFIED_MSG, _QUALIFIED_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + _max_len(63))
    if not _full(_QUALIFIED_RE, name):
        errs.append("name part " + _regex_error(_QUALIFIED_MSG, _QUALIFIED_FMT, "MyName", "my.name", "123-abc"))
    return errs


def label_value(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append(_max_len(63))
    if not _full(_LABEL_VALUE_RE, value):
        errs.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


_PORT_NAME_CHARSET = re.compile("[-a-z0-9]+")
_LETTER_RE = re.compile("[a-z]")


def port_name(value: str) -> list[str]:
    """``IsValidPortName``: an IANA_SVC_NAME (a named targetPort or container port)."""
    errs = []
    if len(value) > 15:
        errs.append(_max_len(15))
    if not _full(_PORT_NAME_CHARSET, value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _LETTER_RE.search(value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value and (value[0] == "-" or value[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


# --- what each kind's name must be ------------------------------------------------------

def name_errors(kind: str, name: str) -> list[str]:
    """The API server's name validation for ``kind`` (``ValidateObjectMeta``'s nameFn):
    Services are DNS-1035 labels (``ValidateServiceName``), Namespaces RFC 1123 labels
    (``ValidateNamespaceName``), everything else the linter reads (custom resources, Pods,
    workload controllers, ServiceAccounts) RFC 1123 subdomains; a CronJob name leaves room
    for the 11-character suffix of its Jobs."""
    if kind == "Service":
        return dns1035_label(name)
    if kind == "Namespace":
        return dns1123_label(name)
    errs = dns1123_subdomain(name)
    if kind == "CronJob" and len(name) > 52:
        errs.append(_max_len(52))
    return errs


def _invalid(path: FieldPath, value: Any, msgs: list[str]) -> str:
    field = format_path(path)
    shown = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"' if isinstance(value, str) else str(value)
    return f"{field}: Invalid value: {shown}: " + "; ".join(msgs)


# Placeholders that test and demo templates substitute with sed or envsubst before applying:
# an all-caps token (ROLLOUT_NAME, REPLACEME, NAMESPACE), $$name$$, __NAME__, %NAME%, <name>.
_SUBSTITUTED_RE = re.compile(r"(?<![A-Za-z0-9_])[A-Z][A-Z0-9_]{2,}(?![A-Za-z0-9])|\$\$|__[A-Za-z]|%[A-Za-z_]+%|<[A-Za-z_-]+>")


# A lower-case RFC 1123 label: a name of at most 52 such characters is no template (no braces,
# ``$``, upper case, ``_``, ``%`` or ``<``) and valid for every kind ``name_errors`` knows (a
# DNS-1035 label too when it starts with a letter): IVL006's shortcut for the common case.
_PLAIN_NAME_RE = re.compile(_LABEL_FMT)


def _template(value: Any) -> bool:
    """A value the author substitutes before applying (``{{ }}``, ``$(VAR)``, ``ROLLOUT_NAME``,
    ``$$name$$``): the file is a template, not the object the API server would see."""
    return isinstance(value, str) and ("{{" in value or is_placeholder(value)
                                       or _SUBSTITUTED_RE.search(value) is not None)


def _label_maps(res: Resource) -> Iterator[tuple[FieldPath, FieldPath, Any]]:
    """``(path in the resource, path as the API server names it, labels)`` of every label map
    Kubernetes validates with ``ValidateLabels`` in a resource the linter reads."""
    yield ("metadata", "labels"), ("metadata", "labels"), res.metadata.get("labels")
    if res.kind == "Service":
        yield ("spec", "selector"), ("spec", "selector"), res.spec.get("selector")
    if isinstance(res, WorkloadController) and res.kind != "Pod":
        sel = res.spec.get("selector")
        if isinstance(sel, dict):
            yield ("spec", "selector", "matchLabels"), ("spec", "selector", "matchLabels"), sel.get("matchLabels")
        t: Any = res.data
        for part in res.TEMPLATE_PATH:
            t = as_map(t).get(part)
        path = res.TEMPLATE_PATH + ("metadata", "labels")
        yield path, path, as_map(as_map(t).get("metadata")).get("labels")


# Every kind the linter models.  Unknown kinds read only for their pod template (opaque
# workloads) are left alone: their CRDs are not known here.
ALL_KINDS = tuple(sorted({KIND_NAMES.get(gk, gk[1]) for gk in (*KINDS, *WORKLOAD_EXTENSION_KINDS)}))


def _loaded(ctx: Context) -> Iterator[Resource]:
    for res in ctx.each(*ALL_KINDS):
        if not isinstance(res, OpaqueWorkload):
            yield res


@rule(
    code="IVL006", family="document", name="invalid-object-name", severity="error",
    summary="metadata.name or metadata.namespace is not a name the API server accepts for that kind.",
    rationale="""
    The API server validates object names before anything else (`ValidateObjectMeta`): most
    objects, custom resources included, need an RFC 1123 subdomain (lower case, digits, `-`
    and `.`, at most 253 characters); a Service name is a DNS-1035 label (it becomes a DNS
    name: lower case, starting with a letter, at most 63); a Namespace name and every
    `metadata.namespace` an RFC 1123 label. `Bad_Name` or `Web` is rejected with the message
    shown, so the object is never created and everything that refers to it dangles
    (docs/semantics.md §kubernetes-object-metadata). Values with `{{` are left to the
    template check.
    """,
    bad="""
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata:
      name: Billing_API
    """,
    good="""
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata:
      name: billing-api
    """,
    inputs=ALL_KINDS,
)
def invalid_object_name(ctx: Context) -> Iterator[Problem]:
    good_namespaces: set[str] = set()  # checked once per run (they repeat)
    plain_ok = _PLAIN_NAME_RE.fullmatch
    for res in _loaded(ctx):
        name = res.name
        if len(name) <= 52 and plain_ok(name) is not None and (res.kind != "Service" or "a" <= name[0] <= "z"):
            pass  # most names: no template token, and valid for every kind (see _PLAIN_NAME_RE)
        elif not _template(name):
            field = "generateName" if res.name_generated else "name"
            # A generateName prefix is checked with a trailing '-' masked (``maskTrailingDash``):
            # the API server appends random characters to it.
            checked = name[:-1] + "a" if res.name_generated and name.endswith("-") else name
            msgs = name_errors(res.kind, checked)
            if msgs:
                yield Problem(res, ("metadata", field), f"{res.kind} {name}: "
                              + _invalid(("metadata", field), name, msgs) + "; the API server rejects it")
        ns = res.metadata.get("namespace")
        if isinstance(ns, str) and ns in good_namespaces:
            continue
        if res.kind != "Namespace" and isinstance(ns, str) and ns and not _template(ns):
            msgs = dns1123_label(ns)
            if not msgs:
                good_namespaces.add(ns)
            else:
                yield Problem(res, ("metadata", "namespace"), f"{res.kind} {name}: "
                              + _invalid(("metadata", "namespace"), ns, msgs) + "; the API server rejects it")


@rule(
    code="IVL007", family="document", name="invalid-label", severity="error",
    summary="A label key or value (metadata.labels, a Service selector, a workload's selector or "
            "pod template labels) is not valid Kubernetes label syntax.",
    rationale="""
    The API server checks every label with `ValidateLabels`: a key is an optional DNS
    subdomain prefix and `/` plus a name of at most 63 alphanumerics, `-`, `_` and `.`
    starting and ending alphanumeric; a value is empty or such a name. It applies to
    `metadata.labels` of every object, to a Service's `spec.selector`, a workload's
    `spec.selector.matchLabels` and its pod template's labels. A label like `has space` or
    `v1.2-` makes the API server reject the whole object (docs/semantics.md
    §kubernetes-object-metadata). Istio's own label fields (WorkloadEntry `spec.labels`,
    selectors) are checked by the IVL6xx validation rules.
    """,
    bad="""
    apiVersion: networking.istio.io/v1
    kind: WorkloadEntry
    metadata:
      name: billing-vm-1
      labels:
        app: billing api
    """,
    good="""
    apiVersion: networking.istio.io/v1
    kind: WorkloadEntry
    metadata:
      name: billing-vm-1
      labels:
        app: billing-api
    """,
    inputs=ALL_KINDS,
)
def invalid_label(ctx: Context) -> Iterator[Problem]:
    # Keys and values repeat across resources (app, version, namespaces): each text is checked
    # once per run; these sets hold the ones with nothing to report.
    good_keys: set[str] = set()
    good_values: set[str] = set()
    for res in _loaded(ctx):
        for path, shown, labels in _label_maps(res):
            if not isinstance(labels, dict):
                continue  # absent, or the wrong type (not a label problem)
            for key, value in labels.items():
                if key in good_keys and isinstance(value, str) and value in good_values:
                    continue
                if not isinstance(key, str) or _template(key):
                    continue
                msgs = qualified_name(key)
                if msgs:
                    yield Problem(res, path + (key,), f"{res.kind} {res.name}: " + _invalid(shown, key, msgs)
                                  + "; the API server rejects it")
                else:
                    good_keys.add(key)
                if isinstance(value, str) and value in good_values:
                    continue
                if isinstance(value, str) and not _template(value):
                    msgs = label_value(value)
                    if msgs:
                        yield Problem(res, path + (key,), f"{res.kind} {res.name}: " + _invalid(shown, value, msgs)
                                      + f" (label '{key}'); the API server rejects it")
                        continue
                if isinstance(value, str):
                    good_values.add(value)


def _container_ports(res: WorkloadController) -> Iterator[tuple[FieldPath, Any]]:
    t: Any = res.data
    for part in res.TEMPLATE_PATH:
        t = as_map(t).get(part)
    spec = as_map(as_map(t).get("spec"))
    for key in ("initContainers", "containers"):
        for ci, c in enumerate(as_list(spec.get(key))):
            for pi, p in enumerate(as_list(as_map(c).get("ports"))):
                yield res.TEMPLATE_PATH + ("spec", key, ci, "ports", pi, "name"), as_map(p).get("name")


def _target_port_problem(res: Resource, path: FieldPath, value: Any) -> Optional[Problem]:
    if not isinstance(value, str) or value == "" or _template(value):
        return None  # an integer (range: schema), absent, or the default ""
    msgs = port_name(value)
    if not msgs:
        return None
    hint = (f" (write the number without quotes, targetPort: {value}, to mean port {value})"
            if value.isdigit() else "")
    return Problem(res, path, f"{res.kind} {res.name}: " + _invalid(path, value, msgs)
                   + f"; the API server rejects it{hint}")


@rule(
    code="IVL008", family="document", name="invalid-port-name", severity="error",
    summary="A Service targetPort given as a string, or a container port name, is not a valid port "
            "name (IANA_SVC_NAME), e.g. targetPort: \"8080\".",
    rationale="""
    A Service `targetPort` is an int-or-string: a number is a port, a string is the *name*
    of a container port, and must be a valid IANA_SVC_NAME (at most 15 lower-case
    alphanumerics and `-`, with at least one letter, no `--`, not starting or ending with
    `-`), like container port names themselves. `targetPort: "8080"` is therefore not port
    8080 but a name the API server rejects (`must contain at least one letter (a-z)`); the
    Service is never created (docs/semantics.md §kubernetes-object-metadata).
    """,
    bad="""
    apiVersion: v1
    kind: Service
    spec:
      ports:
      - port: 80
        targetPort: "8080"
    """,
    good="""
    apiVersion: v1
    kind: Service
    spec:
      ports:
      - port: 80
        targetPort: 8080
    """,
    inputs=ALL_KINDS,
)
def invalid_port_name(ctx: Context) -> Iterator[Problem]:
    for res in ctx.each("Service"):
        for i, p in enumerate(as_list(res.spec.get("ports"))):
            if isinstance(p, dict):
                problem = _target_port_problem(res, ("spec", "ports", i, "targetPort"), p.get("targetPort"))
                if problem is not None:
                    yield problem
    for res in _loaded(ctx):
        if not isinstance(res, WorkloadController):
            continue
        for path, name in _container_ports(res):
            if isinstance(name, str) and name and not _template(name):
                msgs = port_name(name)
                if msgs:
                    yield Problem(res, path, f"{res.kind} {res.name}: " + _invalid(path, name, msgs)
                                  + "; the API server rejects it")
