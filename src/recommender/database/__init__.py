"""The database: SQLAlchemy tables and engines (``db``), write transactions and locks
(``transactions``), versioned migrations (``migrate``, ``migrations/``), the admin audit log.
Imports only ``core``."""
