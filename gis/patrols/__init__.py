"""Patrols: tracks (GPX, live pings, cleaning) and what they covered per grid."""
