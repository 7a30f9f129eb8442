"""The access trail (HIPAA 164.312(b)): who viewed or changed which patient's data, and when.
Written only by `services.record`; read in the admin; purged by a beat task after
AUDIT_RETENTION_DAYS."""
