from django.dispatch import Signal

# Sent after an organization's deletion commits: organization_id, name. Billing cancels the
# subscription here (an action, outside the transaction).
organization_deleted = Signal()
