"""Partnership opportunity recommender.

Packages by layer, each importing only those below it (``tests/test_layers.py`` checks):
``core`` < ``database`` < ``geo`` < ``reference`` < ``register`` < ``model`` < ``simulation``
< ``recommend`` < ``render`` < ``scenario`` < ``cli`` | ``webapp`` < ``bench``.
Modules moved in this layout still import by their old names (:mod:`recommender._legacy`).
"""

__version__ = "0.1.0"

from recommender import _legacy

_legacy.install()
