-- Runs once, on first start of an empty data volume (/docker-entrypoint-initdb.d), in POSTGRES_DB.
-- With the extension present, the `create readings` migration turns `readings` into a hypertable.
CREATE EXTENSION IF NOT EXISTS timescaledb;
