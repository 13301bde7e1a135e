"""What people read and print: SVG maps and charts, a body and its partners on a map, the
advisor's briefing, tables to download.
Imports the floors below (up to ``recommend``)."""
