"""The report and the shipped workflows."""
