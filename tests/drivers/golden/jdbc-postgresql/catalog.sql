-- golden SQL: jdbc-postgresql / catalog, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- schemas
-- (JDBC DatabaseMetaData)
-- tables
-- (JDBC DatabaseMetaData)
-- columns
-- (JDBC DatabaseMetaData)
-- row estimates
SELECT c.relname, c.reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'LGDAT' AND c.relkind IN ('r', 'p') AND c.reltuples >= 0;
