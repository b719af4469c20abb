"""Cases (reports): who may see and do what (policy), the loop and every write to reports and
their events (lifecycle), intake, the list, and the category tree."""
