"""Deployment units: lint what gets applied together, not every file as one mesh.

A repository is a collection of things applied separately.  The run is split into *units*,
each linted as one mesh, and the findings of all units are merged:

* every kustomization no other kustomization uses (a *root*) is a unit, rendered with the
  real kustomize (``lint/kustomize.py``); the files it uses are checked through it only.
  Without kustomize (or when the tree cannot be rendered safely) the files it lists are read
  as they are, its ``namespace:`` applied, its patch files left out, and one info notice says so;
* a directory with ``Chart.yaml`` is a Helm chart: rendered with ``helm template`` when helm
  is on PATH, otherwise one info notice; its templates are never parsed as YAML;
* the config key ``units`` (globs of directories) makes each matching directory a unit;
* everything else is the *plain* unit; ``shared-paths`` files are added to every unit.

Inside a unit there is one object per identity (group, kind, namespace, name).  Copies are
reported once (IVL750) and never compared with each other: the cross-resource rules run in
*views*, one per distinct choice of copies, where each file sees its own copy or, failing
that, the copy nearest to it; a view reports only on its own files.  Resources the API
server or Istio's webhook would reject take no part in resolution.

The stages, in the order ``lint/runner.py`` calls them:

* ``plan.py``    which units there are (kustomize roots, charts, config globs, the plain unit)
                 and their rendering; the notices for what could not be rendered;
* ``load.py``    a unit's files and rendered output -> one ``Project`` (``Sources`` parses each
                 file once for all units; kustomize patch origins; per-path namespaces);
* ``samples.py`` the plain unit of a sample collection split into one unit per sample (sibling
                 directories that each deploy an app and redefine one app object);
* ``argocd.py``  the repository's Argo CD Applications place the namespace-less resources of the
                 directories they deploy in their destination namespace;
* ``run.py``     the rules over one unit: single-resource rules over every copy, rejected
                 resources taken out, then the cross-resource rules once per view;
* ``views.py``   copies of one object (reported once, IVL750) and the views that keep them apart;
* ``adjust.py``  what a unit cannot know lowers a finding to info (alternatives, unrendered
                 charts, files it cannot read (``opaque.py``: unparseable files, OpenShift
                 Templates), another unit defining the target, an assumed namespace);
* ``merge.py``   the findings of all units, each once, naming the units it holds in;
* ``codes.py``   the rule codes the units treat specially (rejecting, unit notices ...).
"""
