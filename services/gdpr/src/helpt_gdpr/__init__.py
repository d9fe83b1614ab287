"""Helpt gdpr service. Holds every key to personal data: seal, scoped and audited reveal, erasure, end-of-crisis purge."""
