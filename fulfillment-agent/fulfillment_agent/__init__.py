"""Fulfillment agent: orders, delivery options and slots, the order lifecycle, store reservations."""
