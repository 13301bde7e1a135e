"""Alembic's scripts for :mod:`recommender.database.migrate`: ``env.py`` and one file per revision
in
``versions/`` (``v0001_initial.py``, ``v0002_…``). Shipped in the package, run from code."""
