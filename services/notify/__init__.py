"""The notify service: subscriptions, and messages (Slack, e-mail, signed
webhooks) made from the events the other services publish."""
