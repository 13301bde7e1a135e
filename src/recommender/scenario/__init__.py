"""Local government reorganisation scenarios: recommendations for bodies that do not exist yet.

A scenario replaces today's councils by successor unitaries (``recommender scenario create``,
the pages at ``/scenarios``) and answers every question the product answers, for the
successors and for every other body, as the map would be after it, with the promoted model and
no retraining. It never changes the reference data, the register or the model.

==================  ===========================================================================
module              job
==================  ===========================================================================
``define``          a scenario as written (command line, JSON or CSV file, form) and its checks
``store``           the database: create (all or nothing), load, list, delete
``world``           the map after the scenario: bodies, facts, polygons, adjacency, governance
``history``         what happens to the real arrangements: internal, or carried over
``report``          a scenario and its bodies as the command line, the API and the pages say them
``recommend``       the promoted model on the scenario's map; a cache; before and after
``drawing``         web map layers with the successors, and the scenario's overview map
==================  ===========================================================================
"""
