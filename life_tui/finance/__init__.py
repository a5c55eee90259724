"""Finance (Life's Haima): prices, the ledger and budgets.

``pricing`` (the price table), ``billing`` (worst case and bill of a call in micro-credits), ``ledger``
(the pure fold of ``finance.*`` events), ``wallet`` (the service: atomic reservations under caps, deposits,
budgets, crash reconciliation) and ``view`` (what readers see).
"""
