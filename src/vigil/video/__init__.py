"""Store video analytics: camera -> motion -> detector -> tracker -> zones/behaviours -> events.

Video stays at the store; only Video Observation events (and, on request, blurred
snapshots) leave it.
"""
