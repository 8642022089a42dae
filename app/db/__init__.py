"""The ERP database: tables, engines and sessions, schema set-up and seeding."""
