-- golden SQL: jdbc-hsqldb / staging, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- staging table: "pipekit_staging"."orders"
-- key table: "pipekit_staging"."orders__keys"
-- swap table: "pipekit_staging"."orders"
-- create schema
CREATE SCHEMA IF NOT EXISTS "pipekit_staging";
-- create staging
CREATE TABLE "pipekit_staging"."orders" ("id" BIGINT, "name" LONGVARCHAR, "amount" DECIMAL(18,2), "ratio" DOUBLE, "active" BOOLEAN, "born" DATE, "updated_at" TIMESTAMP(6) WITH TIME ZONE, "seen_at" TIMESTAMP(6), "ref" UUID, "doc" LONGVARCHAR, "blob" LONGVARBINARY);
-- create if missing
CREATE TABLE IF NOT EXISTS "sales"."orders" ("id" BIGINT NOT NULL, "name" LONGVARCHAR, "amount" DECIMAL(18,2), "ratio" DOUBLE, "active" BOOLEAN, "born" DATE, "updated_at" TIMESTAMP(6) WITH TIME ZONE, "seen_at" TIMESTAMP(6), "ref" UUID, "doc" LONGVARCHAR, "blob" LONGVARBINARY, PRIMARY KEY ("id"));
-- odd names
CREATE TABLE "My Schema"."we""ird" ("Order ID" INTEGER, "line""no" SMALLINT, "select" LONGVARCHAR, "it's" DECIMAL(40,4));
-- duplicate keys
SELECT * FROM (SELECT "id", "name", COUNT(*) AS pipekit_n FROM "pipekit_staging"."orders" GROUP BY "id", "name" HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC) pipekit_q LIMIT 3;
-- count
SELECT COUNT(*) FROM "sales"."orders";
-- lock
-- (none)
-- drop staging
DROP TABLE IF EXISTS "pipekit_staging"."orders";
