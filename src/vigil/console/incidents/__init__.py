"""The incident queue and incident pages: scoped lists with cursors, details, actions, live updates."""
