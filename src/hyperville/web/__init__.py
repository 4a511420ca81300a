"""The hypervisor's web pages (the operations screen arrives with its own issue)."""
