"""The map's layers by viewport and the grid panel."""
