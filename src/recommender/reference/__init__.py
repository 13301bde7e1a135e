"""The reference bodies: built from the ONS and mySociety sources (``build``, ``inputs``,
``bodies``, ``aliases``, ``cauth``, ``governance``, ``write``) and read back (``lookup``,
``rules``).
Imports ``core`` and ``geo``."""
