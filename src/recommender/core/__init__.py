"""The ground floor: errors, settings, atomic file writes, name normalisation, the list of
services and the data's attribution. Everything may import it; it imports nothing of the
package."""
