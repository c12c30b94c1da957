-- golden SQL: duckdb / staging, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- staging table: "pipekit_staging"."orders"
-- key table: "pipekit_staging"."orders__keys"
-- swap table: "sales"."pipekit_staging__orders"
-- create schema
CREATE SCHEMA IF NOT EXISTS "pipekit_staging";
-- create staging
CREATE TABLE "pipekit_staging"."orders" ("id" BIGINT, "name" VARCHAR, "amount" DECIMAL(18,2), "ratio" DOUBLE, "active" BOOLEAN, "born" DATE, "updated_at" TIMESTAMPTZ, "seen_at" TIMESTAMP, "ref" UUID, "doc" JSON, "blob" BLOB);
-- create if missing
CREATE TABLE IF NOT EXISTS "sales"."orders" ("id" BIGINT, "name" VARCHAR, "amount" DECIMAL(18,2), "ratio" DOUBLE, "active" BOOLEAN, "born" DATE, "updated_at" TIMESTAMPTZ, "seen_at" TIMESTAMP, "ref" UUID, "doc" JSON, "blob" BLOB);
-- odd names
CREATE TABLE "My Schema"."we""ird" ("Order ID" INTEGER, "line""no" SMALLINT, "select" VARCHAR, "it's" VARCHAR);
-- duplicate keys
SELECT "id", "name", COUNT(*) FROM "pipekit_staging"."orders" WHERE hash("id", "name") IN (SELECT hash("id", "name") FROM "pipekit_staging"."orders" GROUP BY 1 HAVING COUNT(*) > 1) GROUP BY "id", "name" HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC LIMIT 3;
-- count
SELECT COUNT(*) FROM "sales"."orders";
-- lock
-- (none)
-- drop staging
DROP TABLE IF EXISTS "pipekit_staging"."orders";
