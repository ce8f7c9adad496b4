"""Chaos over the scenario corpus: AWS faults and crashes injected into the real handlers on the local backend, and
the outcome compared with the fault-free run's (docs/operations.md, "Faults")."""
