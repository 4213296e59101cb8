"""The Faust app: topics, agents, tables and timers wired around scoring/ and alerts/."""
