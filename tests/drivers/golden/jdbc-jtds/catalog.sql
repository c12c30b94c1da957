-- golden SQL: jdbc-jtds / catalog, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- schemas
SELECT s.name FROM [sys].[schemas] s WHERE s.schema_id < 16384 AND s.name NOT IN ('sys', 'INFORMATION_SCHEMA', 'guest') ORDER BY s.name;
-- tables
SELECT o.name, o.type_desc FROM [sys].[objects] o JOIN [sys].[schemas] s ON s.schema_id = o.schema_id WHERE s.name = 'LGDAT' AND o.type IN ('U', 'V') ORDER BY o.name;
-- columns
SELECT c.name, t.name + CASE WHEN t.name IN ('decimal', 'numeric') THEN '(' + CAST(c.precision AS varchar) + ',' + CAST(c.scale AS varchar) + ')' WHEN t.name IN ('datetime2', 'datetimeoffset', 'time') THEN '(' + CAST(c.scale AS varchar) + ')' WHEN t.name IN ('char', 'varchar', 'binary', 'varbinary') THEN '(' + CASE WHEN c.max_length = -1 THEN 'max' ELSE CAST(c.max_length AS varchar) END + ')' WHEN t.name IN ('nchar', 'nvarchar') THEN '(' + CASE WHEN c.max_length = -1 THEN 'max' ELSE CAST(c.max_length / 2 AS varchar) END + ')' ELSE '' END, c.is_nullable, CASE WHEN k.column_id IS NULL THEN 0 ELSE 1 END FROM [sys].[columns] c JOIN [sys].[types] t ON t.user_type_id = c.user_type_id JOIN [sys].[objects] o ON o.object_id = c.object_id JOIN [sys].[schemas] s ON s.schema_id = o.schema_id LEFT JOIN (SELECT ic.object_id, ic.column_id FROM [sys].[index_columns] ic JOIN [sys].[indexes] i ON i.object_id = ic.object_id AND i.index_id = ic.index_id WHERE i.is_primary_key = 1) k ON k.object_id = c.object_id AND k.column_id = c.column_id WHERE s.name = 'LGDAT' AND o.name = 'QCRH' ORDER BY c.column_id;
-- row estimates
SELECT o.name, SUM(p.rows) FROM [sys].[partitions] p JOIN [sys].[objects] o ON o.object_id = p.object_id JOIN [sys].[schemas] s ON s.schema_id = o.schema_id WHERE s.name = 'LGDAT' AND o.type = 'U' AND p.index_id IN (0, 1) GROUP BY o.name;
