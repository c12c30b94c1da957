-- golden SQL: sqlite / staging, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- staging table: "sales"."pipekit_staging__orders"
-- key table: "sales"."pipekit_staging__orders__keys"
-- swap table: "sales"."pipekit_staging__orders"
-- create schema
-- (none)
-- create staging
CREATE TABLE "sales"."pipekit_staging__orders" ("id" BIGINT, "name" TEXT, "amount" DECIMAL_TEXT(18,2), "ratio" DOUBLE, "active" BOOLEAN, "born" DATE, "updated_at" TIMESTAMPTZ, "seen_at" TIMESTAMP, "ref" UUID, "doc" JSON_TEXT, "blob" BLOB);
-- create if missing
CREATE TABLE IF NOT EXISTS "sales"."orders" ("id" BIGINT NOT NULL, "name" TEXT, "amount" DECIMAL_TEXT(18,2), "ratio" DOUBLE, "active" BOOLEAN, "born" DATE, "updated_at" TIMESTAMPTZ, "seen_at" TIMESTAMP, "ref" UUID, "doc" JSON_TEXT, "blob" BLOB, PRIMARY KEY ("id"));
-- odd names
CREATE TABLE "My Schema"."we""ird" ("Order ID" INTEGER, "line""no" SMALLINT, "select" TEXT, "it's" DECIMAL_TEXT(40,4));
-- duplicate keys
SELECT "id", "name", COUNT(*) FROM "sales"."pipekit_staging__orders" GROUP BY "id", "name" HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC LIMIT 3;
-- count
SELECT COUNT(*) FROM "sales"."orders";
-- lock
-- (none)
-- drop staging
DROP TABLE IF EXISTS "sales"."pipekit_staging__orders";
