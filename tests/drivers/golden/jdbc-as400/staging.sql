-- golden SQL: jdbc-as400 / staging, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- staging table: "pipekit_staging"."orders"
-- key table: "pipekit_staging"."orders__keys"
-- swap table: "pipekit_staging"."orders"
-- create schema
CREATE SCHEMA "pipekit_staging";
-- create staging
CREATE TABLE "pipekit_staging"."orders" ("id" BIGINT, "name" VARCHAR(32000) CCSID 1208, "amount" DECIMAL(18,2), "ratio" DOUBLE, "active" SMALLINT, "born" DATE, "updated_at" TIMESTAMP, "seen_at" TIMESTAMP, "ref" CHAR(36), "doc" VARCHAR(32000), "blob" VARBINARY(32000));
-- create if missing
CREATE TABLE "sales"."orders" ("id" BIGINT NOT NULL, "name" VARCHAR(32000) CCSID 1208, "amount" DECIMAL(18,2), "ratio" DOUBLE, "active" SMALLINT, "born" DATE, "updated_at" TIMESTAMP, "seen_at" TIMESTAMP, "ref" CHAR(36), "doc" VARCHAR(32000), "blob" VARBINARY(32000), PRIMARY KEY ("id"));
-- odd names
CREATE TABLE "My Schema"."we""ird" ("Order ID" INTEGER, "line""no" SMALLINT, "select" VARCHAR(32000) CCSID 1208, "it's" DECIMAL(40,4));
-- duplicate keys
SELECT * FROM (SELECT "id", "name", COUNT(*) AS pipekit_n FROM "pipekit_staging"."orders" GROUP BY "id", "name" HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC) pipekit_q FETCH FIRST 3 ROWS ONLY;
-- count
SELECT COUNT(*) FROM "sales"."orders";
-- lock
-- (none)
-- drop staging
DROP TABLE "pipekit_staging"."orders";
