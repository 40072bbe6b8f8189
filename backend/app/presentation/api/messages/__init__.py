"""Problem messages, one module per bounded context, merged into `i18n.MESSAGES`."""
