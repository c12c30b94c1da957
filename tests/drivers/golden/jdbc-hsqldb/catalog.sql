-- golden SQL: jdbc-hsqldb / catalog, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- schemas
-- (JDBC DatabaseMetaData)
-- tables
-- (JDBC DatabaseMetaData)
-- columns
-- (JDBC DatabaseMetaData)
-- row estimates
SELECT TABLE_NAME, CARDINALITY FROM INFORMATION_SCHEMA.SYSTEM_TABLESTATS WHERE TABLE_SCHEMA = 'LGDAT';
