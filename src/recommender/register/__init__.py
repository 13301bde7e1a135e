"""The register of arrangements: files in and out and their checks (``files``), writes
(``writes``), queries and the default register's loading (``records``).
Imports ``core``, ``database``, ``geo`` and ``reference``."""
