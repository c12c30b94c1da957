-- golden SQL: jdbc-sqlserver / literals, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- int
SELECT 42;
-- negative int
SELECT -7;
-- int64 max
SELECT 9223372036854775807;
-- decimal
SELECT 12345.6789;
-- small decimal
SELECT -0.001;
-- float
SELECT 1.5;
-- bool
SELECT (1 = 1);
-- null
SELECT NULL;
-- text
SELECT 'plain';
-- text with quotes
SELECT 'O''Brien said "hi"';
-- text with backslash
SELECT 'C:\temp\new';
-- date
SELECT CAST('2024-01-31' AS DATE);
-- time
SELECT CAST('23:59:59.500000' AS TIME(6));
-- timestamp
SELECT CAST('2024-03-01 12:30:05.120000' AS DATETIME2(6));
-- timestamp with zone (+02:00)
SELECT CAST('2024-03-01 12:30:05.120000+00:00' AS DATETIMEOFFSET(6));
-- uuid
SELECT CAST('12345678-1234-5678-1234-567812345678' AS UNIQUEIDENTIFIER);
-- bytes
SELECT 0x00ff6162;
-- text as timestamp column
SELECT CAST('2024-03-01 12:30:05' AS DATETIME2(6));
-- text as date column
SELECT CAST('2024-01-31' AS DATE);
-- watermark int64
SELECT 1234567890123;
-- watermark decimal(18,2)
SELECT 99.95;
-- watermark double
SELECT 0.1;
-- watermark date
SELECT CAST('2024-01-31' AS DATE);
-- watermark timestamp >
SELECT CAST('2024-03-01 12:30:05.120000' AS DATETIME2(6));
-- watermark timestamp >=
SELECT CAST('2024-03-01 12:30:05.120000' AS DATETIME2(6));
-- watermark timestamp with zone
SELECT CAST('2024-03-01 12:30:05.120000+00:00' AS DATETIMEOFFSET(6));
-- watermark text
SELECT 'O''Brien';
-- watermark null
SELECT NULL;
