-- golden SQL: jdbc-sqlserver / staging, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- staging table: [pipekit_staging].[orders]
-- key table: [pipekit_staging].[orders__keys]
-- swap table: [pipekit_staging].[orders]
-- create schema
IF SCHEMA_ID('pipekit_staging') IS NULL EXEC('CREATE SCHEMA [pipekit_staging]');
-- create staging
CREATE TABLE [pipekit_staging].[orders] ([id] BIGINT, [name] NVARCHAR(MAX), [amount] DECIMAL(18,2), [ratio] FLOAT, [active] BIT, [born] DATE, [updated_at] DATETIMEOFFSET(6), [seen_at] DATETIME2(6), [ref] UNIQUEIDENTIFIER, [doc] NVARCHAR(MAX), [blob] VARBINARY(MAX));
-- create if missing
CREATE TABLE IF NOT EXISTS [sales].[orders] ([id] BIGINT NOT NULL, [name] NVARCHAR(MAX), [amount] DECIMAL(18,2), [ratio] FLOAT, [active] BIT, [born] DATE, [updated_at] DATETIMEOFFSET(6), [seen_at] DATETIME2(6), [ref] UNIQUEIDENTIFIER, [doc] NVARCHAR(MAX), [blob] VARBINARY(MAX), PRIMARY KEY ([id]));
-- odd names
CREATE TABLE [My Schema].[we"ird] ([Order ID] INT, [line"no] SMALLINT, [select] NVARCHAR(MAX), [it's] DECIMAL(40,4));
-- duplicate keys
SELECT TOP 3 [id], [name], COUNT(*) FROM [pipekit_staging].[orders] GROUP BY [id], [name] HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC;
-- count
SELECT COUNT(*) FROM [sales].[orders];
-- lock
-- (none)
-- drop staging
DROP TABLE IF EXISTS [pipekit_staging].[orders];
