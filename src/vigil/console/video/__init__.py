"""Video evidence in the console: the observations near an incident and their blurred snapshots."""
