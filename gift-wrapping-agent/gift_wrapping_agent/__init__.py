"""The gift-wrapping agent: which products can be gift-wrapped, the options and their prices, and the wraps
shoppers ask for on an order or a checkout."""
