"""Geometry and dense geography: boundaries and distances (``geography``), the body-by-body
matrices of distance, borders and shared containers (``pairs``).
Imports only ``core``."""
