"""Human-comprehensibility surveys: schema, repository (all SQL here), design, analysis, export."""
