"""Writes of the qrlogin app, one module per topic: `sessions` (QR / pair-code logins),
`pair_targets`, `ports` (quota, port details, port operations), `scan_tasks` (PC scan
tasks) and `results` (what the vendor's webhooks tell us, applied by the webhooks app)."""
