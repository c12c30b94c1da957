-- golden SQL: jdbc-db2 / reading, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- the first rows of a query
SELECT * FROM (SELECT * FROM "LGDAT"."QCRH") pipekit_q FETCH FIRST 10 ROWS ONLY;
-- fixed-width text, trimmed
SELECT RTRIM("DCORD#") FROM "LGDAT"."QCRH";
-- a watermark on a timestamp and on a fixed-width text column
SELECT * FROM "LGDAT"."QCRH" WHERE "DCTS" > CAST('2024-03-01 12:30:00.123456' AS TIMESTAMP(6)) AND "DCORD#" > 'A1        ';
-- names with #, @ and $
"DCORD#", "@ADDR", "AMT$", "dcord#";
