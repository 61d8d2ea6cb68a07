"""istio-vm-lint: offline linter for Istio service-mesh config with virtual machines.

Pipeline: discover -> loader (positions) -> model -> graph -> rules -> report.
Importing the package does no work; everything is loaded lazily so a single-file run in
pre-commit starts fast.
"""

__version__ = "0.1.0"
