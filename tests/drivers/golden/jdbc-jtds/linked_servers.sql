-- golden SQL: jdbc-jtds / linked_servers, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- linked servers and databases
SELECT name, product, data_source FROM sys.servers WHERE is_linked = 1 ORDER BY name;
SELECT name FROM [sys].[databases] WHERE database_id > 4 AND state = 0 ORDER BY name;
SELECT name FROM [ERP1].[master].[sys].[databases] WHERE database_id > 4 AND state = 0 ORDER BY name;
-- four-part and three-part names
[ERP1].[erp].[dbo].[QCRH];
[erp]..[QCRH];
-- the catalog of a table on a linked server
SELECT c.name, t.name + CASE WHEN t.name IN ('decimal', 'numeric') THEN '(' + CAST(c.precision AS varchar) + ',' + CAST(c.scale AS varchar) + ')' WHEN t.name IN ('datetime2', 'datetimeoffset', 'time') THEN '(' + CAST(c.scale AS varchar) + ')' WHEN t.name IN ('char', 'varchar', 'binary', 'varbinary') THEN '(' + CASE WHEN c.max_length = -1 THEN 'max' ELSE CAST(c.max_length AS varchar) END + ')' WHEN t.name IN ('nchar', 'nvarchar') THEN '(' + CASE WHEN c.max_length = -1 THEN 'max' ELSE CAST(c.max_length / 2 AS varchar) END + ')' ELSE '' END, c.is_nullable, CASE WHEN k.column_id IS NULL THEN 0 ELSE 1 END FROM [ERP1].[erp].[sys].[columns] c JOIN [ERP1].[erp].[sys].[types] t ON t.user_type_id = c.user_type_id JOIN [ERP1].[erp].[sys].[objects] o ON o.object_id = c.object_id JOIN [ERP1].[erp].[sys].[schemas] s ON s.schema_id = o.schema_id LEFT JOIN (SELECT ic.object_id, ic.column_id FROM [ERP1].[erp].[sys].[index_columns] ic JOIN [ERP1].[erp].[sys].[indexes] i ON i.object_id = ic.object_id AND i.index_id = ic.index_id WHERE i.is_primary_key = 1) k ON k.object_id = c.object_id AND k.column_id = c.column_id WHERE s.name = 'dbo' AND o.name = 'orders' ORDER BY c.column_id;
