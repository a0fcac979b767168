"""Real adapters behind the `vigil.respond.backends` protocols, one module per system.

- `nftables`: the store gateway's firewall (`nft`, optionally in a network namespace).
- `scim`: SCIM 2.0 user directory (disable/enable with PATCH `active`).
- `idp`: forced password change through Okta's or Microsoft Graph's own API, or a webhook.
- `webhook` and `formats`: generic JSON, Slack and Teams webhooks; ticketing intake.
- `smtp`: email notices.
- `mqtt`: QoS 1 commands to store edges and IoT gateways.
- `config`: the `respond` configuration section and `build_backends`.
"""
