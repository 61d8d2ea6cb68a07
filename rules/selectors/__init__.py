"""IVL1xx orphan selectors and workload membership (family ``selectors``).

Every selection question is answered by the mesh graph (``ctx.graph``: ``select``,
``select_any_namespace``, ``near_misses``, ``bindings_by_service``/``bindings_by_workload``,
``lookup``, ``effective_dr``), which applies docs/semantics.md §label-selection, §serviceentry-selection and §service-selection in one place: same-
namespace selection, hostname/UDS WorkloadEntries only under DNS resolution, no WorkloadEntries
behind headless Services, WorkloadGroups as the entries they will generate.

Where we differ from istioctl and Kiali: they match selectors against Pod objects only (and
Kiali against running workloads); a GitOps repository has Deployments, WorkloadEntries and
WorkloadGroups, so those are the workloads here (docs/semantics.md §analyzer-subsets, §analyzer-gateway-ports). The price is
that a repository is often a slice of the mesh: a selector is only reported as matching nothing
when the repository declares workloads in the namespace it searches.

Modules, by rule:

- ``services``: IVL101, IVL102, IVL103 (ServiceEntry/Service selectors that match nothing or
  only in other namespaces);
- ``workload_entries``: IVL104, IVL105, IVL109, IVL110, IVL112, IVL113, IVL114 (WorkloadEntry
  and WorkloadGroup membership, addresses, labels, identities);
- ``gateways``: IVL106, IVL111 (Gateway selectors);
- ``subsets``: IVL107, IVL108 (DestinationRule subsets and their endpoints);
- ``_common``: helpers shared by these modules (near-miss hints, selector owners).
"""
