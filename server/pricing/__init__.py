"""The pricing rule (pure) and its database look-ups; market prices."""
