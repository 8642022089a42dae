"""Domain rules of the ERP that depend on no database or web framework."""
