from django.dispatch import Signal

# Sent inside the transaction that schedules an organization's deletion (its owners', an
# operator's, or its last member's account deletion): organization_id. Billing cancels the
# organization's subscriptions here, in that transaction (billing/receivers.py).
organization_deletion_scheduled = Signal()

# Sent after an organization's purge commits: organization_id, name.
organization_deleted = Signal()
