"""The small kernel every domain app shares.

errors       AppError and its factories: one error shape for every transport
actor        who is calling
permissions  the permission catalogue: permission → roles, capability, policies
policies     resource policies referenced by the catalogue
guard        require_app_permission: resolve the Actor, check one permission
tenancy      TenantModel / TenantManager: tenant tables that fail closed
mutations    @mutation: SERIALIZABLE transaction, retried on conflicts
rendering    the one mapping of AppError to API JSON, pages and socket frames
"""
