"""Mail: templates (Jinja2, Simplified Chinese) and the transports that hand messages over (SMTP
through yagmail's connection, or a local maildir)."""
