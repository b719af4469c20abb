"""Planners' layers: reading files (CRS, encodings, zips), repairing polygons, topology, and the
import of areas, buildings and street lines."""
