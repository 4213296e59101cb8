"""Event schemas (the wire contract with terminals) and the typed ORM with its migrations."""
