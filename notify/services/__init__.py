"""Services of the notify app: events (outbox, subscriptions, deliveries) and alerts."""
