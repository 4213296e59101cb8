"""The fault-injection suite: the system under crashes, outages and hostile input, compared
with a fault-free run of the same input (``python -m tests.faults.suite``, ``./dev faults``)."""
