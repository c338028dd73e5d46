"""Flows: the payment rules. The only code that calls both the store and a gateway."""
