"""Processing provider and algorithms (thin shells over ``core``)."""
