"""The schema revisions, oldest first (see CONTRIBUTING "Conventions" for adding one)."""
