"""The estate overview and the store view: health, open incidents, video analytics, POS exceptions."""
