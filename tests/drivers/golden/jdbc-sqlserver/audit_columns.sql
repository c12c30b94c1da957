-- golden SQL: jdbc-sqlserver / audit_columns, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: incremental
-- schema change: added column _pipekit_loaded_at DATETIMEOFFSET(6) to sales.orders; the rows loaded before this run hold NULL in _pipekit_loaded_at: run the module with --full-refresh to fill them
-- schema change: added column _pipekit_run_id BIGINT to sales.orders; the rows loaded before this run hold NULL in _pipekit_run_id: run the module with --full-refresh to fill them
-- ddl
ALTER TABLE [sales].[orders] ADD [_pipekit_loaded_at] DATETIMEOFFSET(6);
-- ddl
ALTER TABLE [sales].[orders] ADD [_pipekit_run_id] BIGINT;
-- replace
DELETE FROM [sales].[orders] WHERE EXISTS (SELECT 1 FROM [pipekit_staging].[orders] s WHERE s.[id] = [sales].[orders].[id]);
-- insert
INSERT INTO [sales].[orders] ([id], [name], [amount], [ratio], [active], [born], [updated_at], [seen_at], [ref], [doc], [blob], [_pipekit_loaded_at], [_pipekit_run_id]) SELECT s.[id], s.[name], s.[amount], s.[ratio], s.[active], s.[born], s.[updated_at], s.[seen_at], s.[ref], s.[doc], s.[blob], CAST('2024-03-01 12:30:00.123456+00:00' AS DATETIMEOFFSET(6)), 42 FROM [pipekit_staging].[orders] s;
