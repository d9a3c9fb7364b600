"""Token counting, prices and cost, usage tracking and budgets (docs/tokens-and-cost.md)."""
