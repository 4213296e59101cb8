"""The command-center and officers' web app: live alert board, alert handling, subjects."""
