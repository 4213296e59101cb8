"""Absconding detectors and the alert lifecycle: pure, event-time driven, clock injected."""
