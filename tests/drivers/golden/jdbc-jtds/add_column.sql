-- golden SQL: jdbc-jtds / add_column, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: incremental
-- schema change: added column ratio FLOAT to sales.orders; the rows loaded before this run hold NULL in ratio: run the module with --full-refresh to fill them
-- schema change: added column active BIT to sales.orders; the rows loaded before this run hold NULL in active: run the module with --full-refresh to fill them
-- schema change: added column born DATE to sales.orders; the rows loaded before this run hold NULL in born: run the module with --full-refresh to fill them
-- schema change: added column updated_at DATETIMEOFFSET(6) to sales.orders; the rows loaded before this run hold NULL in updated_at: run the module with --full-refresh to fill them
-- schema change: added column seen_at DATETIME2(6) to sales.orders; the rows loaded before this run hold NULL in seen_at: run the module with --full-refresh to fill them
-- schema change: added column ref UNIQUEIDENTIFIER to sales.orders; the rows loaded before this run hold NULL in ref: run the module with --full-refresh to fill them
-- schema change: added column doc NVARCHAR(MAX) to sales.orders; the rows loaded before this run hold NULL in doc: run the module with --full-refresh to fill them
-- schema change: added column blob VARBINARY(MAX) to sales.orders; the rows loaded before this run hold NULL in blob: run the module with --full-refresh to fill them
-- ddl
ALTER TABLE [sales].[orders] ADD [ratio] FLOAT;
-- ddl
ALTER TABLE [sales].[orders] ADD [active] BIT;
-- ddl
ALTER TABLE [sales].[orders] ADD [born] DATE;
-- ddl
ALTER TABLE [sales].[orders] ADD [updated_at] DATETIMEOFFSET(6);
-- ddl
ALTER TABLE [sales].[orders] ADD [seen_at] DATETIME2(6);
-- ddl
ALTER TABLE [sales].[orders] ADD [ref] UNIQUEIDENTIFIER;
-- ddl
ALTER TABLE [sales].[orders] ADD [doc] NVARCHAR(MAX);
-- ddl
ALTER TABLE [sales].[orders] ADD [blob] VARBINARY(MAX);
-- replace
DELETE FROM [sales].[orders] WHERE EXISTS (SELECT 1 FROM [pipekit_staging].[orders] s WHERE s.[id] = [sales].[orders].[id]);
-- insert
INSERT INTO [sales].[orders] ([id], [name], [amount], [ratio], [active], [born], [updated_at], [seen_at], [ref], [doc], [blob]) SELECT s.[id], s.[name], s.[amount], s.[ratio], s.[active], s.[born], s.[updated_at], s.[seen_at], s.[ref], s.[doc], s.[blob] FROM [pipekit_staging].[orders] s;
