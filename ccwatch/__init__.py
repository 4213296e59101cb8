"""ccwatch composition: settings, the embedded broker, reference data, the CLI."""
