-- golden SQL: jdbc-db2 / staging, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- staging table: "pipekit_staging"."orders"
-- key table: "pipekit_staging"."orders__keys"
-- swap table: "pipekit_staging"."orders"
-- create schema
CREATE SCHEMA "pipekit_staging";
-- create staging
CREATE TABLE "pipekit_staging"."orders" ("id" BIGINT, "name" VARCHAR(32000), "amount" DECIMAL(18,2), "ratio" DOUBLE, "active" BOOLEAN, "born" DATE, "updated_at" TIMESTAMP(6), "seen_at" TIMESTAMP(6), "ref" CHAR(36), "doc" VARCHAR(32000), "blob" VARBINARY(32000));
-- create if missing
CREATE TABLE "sales"."orders" ("id" BIGINT NOT NULL, "name" VARCHAR(32000), "amount" DECIMAL(18,2), "ratio" DOUBLE, "active" BOOLEAN, "born" DATE, "updated_at" TIMESTAMP(6), "seen_at" TIMESTAMP(6), "ref" CHAR(36), "doc" VARCHAR(32000), "blob" VARBINARY(32000), PRIMARY KEY ("id"));
-- odd names
CREATE TABLE "My Schema"."we""ird" ("Order ID" INTEGER, "line""no" SMALLINT, "select" VARCHAR(32000), "it's" VARCHAR(32000));
-- duplicate keys
SELECT * FROM (SELECT "id", "name", COUNT(*) AS pipekit_n FROM "pipekit_staging"."orders" GROUP BY "id", "name" HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC) pipekit_q FETCH FIRST 3 ROWS ONLY;
-- count
SELECT COUNT(*) FROM "sales"."orders";
-- lock
-- (none)
-- drop staging
DROP TABLE "pipekit_staging"."orders";
