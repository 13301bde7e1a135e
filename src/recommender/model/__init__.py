"""The model: partner patterns, features, estimators and baselines; fitting (``fit``), scoring,
held-out evaluation and what it says (``verdicts``), explanations, the whole job
(``workflow``), saved models (``artifacts``) and where batch work runs (``engines``). Imports
the floors below (up to ``register``)."""
