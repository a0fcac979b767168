"""The approvals inbox: pending response steps, decided through the playbook engine."""
