"""The terminal side: a reproducible simulated day and the kafka-python producer that sends it."""
