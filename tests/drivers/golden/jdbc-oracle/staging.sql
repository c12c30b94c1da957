-- golden SQL: jdbc-oracle / staging, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- staging table: "pipekit_staging"."orders"
-- key table: "pipekit_staging"."orders__keys"
-- swap table: "pipekit_staging"."orders"
-- create schema
CREATE SCHEMA "pipekit_staging";
-- create staging
CREATE TABLE "pipekit_staging"."orders" ("id" NUMBER(19), "name" CLOB, "amount" NUMBER(18,2), "ratio" BINARY_DOUBLE, "active" NUMBER(1), "born" DATE, "updated_at" TIMESTAMP(6) WITH TIME ZONE, "seen_at" TIMESTAMP(6), "ref" RAW(16), "doc" CLOB, "blob" BLOB);
-- create if missing
CREATE TABLE "sales"."orders" ("id" NUMBER(19) NOT NULL, "name" CLOB, "amount" NUMBER(18,2), "ratio" BINARY_DOUBLE, "active" NUMBER(1), "born" DATE, "updated_at" TIMESTAMP(6) WITH TIME ZONE, "seen_at" TIMESTAMP(6), "ref" RAW(16), "doc" CLOB, "blob" BLOB, PRIMARY KEY ("id"));
-- odd names
CREATE TABLE "My Schema"."we""ird" ("Order ID" NUMBER(10), "line""no" NUMBER(5), "select" CLOB, "it's" CLOB);
-- duplicate keys
SELECT * FROM (SELECT "id", "name", COUNT(*) AS pipekit_n FROM "pipekit_staging"."orders" GROUP BY "id", "name" HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC) pipekit_q FETCH FIRST 3 ROWS ONLY;
-- count
SELECT COUNT(*) FROM "sales"."orders";
-- lock
-- (none)
-- drop staging
DROP TABLE "pipekit_staging"."orders";
