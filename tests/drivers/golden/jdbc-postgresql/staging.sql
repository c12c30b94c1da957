-- golden SQL: jdbc-postgresql / staging, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- staging table: "pipekit_staging"."orders"
-- key table: "pipekit_staging"."orders__keys"
-- swap table: "pipekit_staging"."orders"
-- create schema
CREATE SCHEMA IF NOT EXISTS "pipekit_staging";
-- create staging
CREATE UNLOGGED TABLE "pipekit_staging"."orders" ("id" bigint, "name" text, "amount" numeric(18,2), "ratio" double precision, "active" boolean, "born" date, "updated_at" timestamptz(6), "seen_at" timestamp(6), "ref" uuid, "doc" json, "blob" bytea);
-- create if missing
CREATE TABLE IF NOT EXISTS "sales"."orders" ("id" bigint NOT NULL, "name" text, "amount" numeric(18,2), "ratio" double precision, "active" boolean, "born" date, "updated_at" timestamptz(6), "seen_at" timestamp(6), "ref" uuid, "doc" json, "blob" bytea, PRIMARY KEY ("id"));
-- odd names
CREATE TABLE "My Schema"."we""ird" ("Order ID" integer, "line""no" smallint, "select" text, "it's" numeric(40,4));
-- duplicate keys
SELECT * FROM (SELECT "id", "name", COUNT(*) AS pipekit_n FROM "pipekit_staging"."orders" GROUP BY "id", "name" HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC) pipekit_q LIMIT 3;
-- count
SELECT COUNT(*) FROM "sales"."orders";
-- lock
LOCK TABLE "sales"."orders" IN ACCESS EXCLUSIVE MODE;
-- drop staging
DROP TABLE IF EXISTS "pipekit_staging"."orders";
