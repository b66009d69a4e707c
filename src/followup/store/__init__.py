"""Storage: the SQLAlchemy models, the Store (engine, transactions, migrations, error translation) and
the escalation's SQL (``queries``). Imports the domain, never the use cases or a shell."""
