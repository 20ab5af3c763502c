"""The sample town algorithm and its writer."""
