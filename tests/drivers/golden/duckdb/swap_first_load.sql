-- golden SQL: duckdb / swap_first_load, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: incremental
-- schema change: created table sales.orders
-- prepare
DROP TABLE IF EXISTS "sales"."pipekit_staging__orders";
-- prepare
CREATE TABLE "sales"."pipekit_staging__orders" ("id" BIGINT, "name" VARCHAR, "amount" DECIMAL(18,2), "ratio" DOUBLE, "active" BOOLEAN, "born" DATE, "updated_at" TIMESTAMPTZ, "seen_at" TIMESTAMP, "ref" UUID, "doc" JSON, "blob" BLOB);
-- schema
CREATE SCHEMA IF NOT EXISTS "sales";
-- swap
ALTER TABLE "sales"."pipekit_staging__orders" RENAME TO "orders";
-- grant
GRANT SELECT ON "sales"."orders" TO "reporting";
-- comment
COMMENT ON TABLE "sales"."orders" IS 'Orders, refreshed nightly';
