"""Answering officers: the query and its limits, the recommender over a saved model
(``ranking``), partners side by side (``compare``), opening a model (``serving``), feedback.
Imports the floors below (up to ``simulation``)."""
