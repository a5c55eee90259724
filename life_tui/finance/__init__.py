"""Finance (Life's Haima): prices, the ledger and budgets.

This release carries the price table the runtime needs to cost every provider call; the ledger, funded
balances and reservations arrive with the regulation issue.
"""
