"""Rule families, one module each.  Every module here is imported by
``istio_vm_lint.engine.all_rules()``; adding a rule is adding a decorated function in the
family's module plus a fixture folder ``fixtures/rules/<CODE>/``."""
