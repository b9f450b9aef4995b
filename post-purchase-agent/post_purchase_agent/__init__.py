"""Post-purchase agent: where is my order, returns and exchanges within policy, feedback."""
