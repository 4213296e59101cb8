"""The monthly points report: the ledger query, CSV, HTML, PDF and charts, and the files written."""
