-- golden SQL: duckdb / swap_audit_named_first_load, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: full
-- schema change: created table sales.orders
-- prepare
DROP TABLE IF EXISTS "sales"."pipekit_staging__orders";
-- prepare
CREATE TABLE "sales"."pipekit_staging__orders" ("id" BIGINT, "name" VARCHAR, "amount" DECIMAL(18,2), "ratio" DOUBLE, "active" BOOLEAN, "born" DATE, "updated_at" TIMESTAMPTZ, "seen_at" TIMESTAMP, "ref" UUID, "doc" JSON, "blob" BLOB, "dss_load_date" TIMESTAMPTZ, "dss_run_id" BIGINT, "dss_record_source" VARCHAR);
-- prepare
ALTER TABLE "sales"."pipekit_staging__orders" ALTER COLUMN "dss_load_date" SET DEFAULT CAST('2024-03-01 12:30:00.123456+00:00' AS TIMESTAMPTZ);
-- prepare
ALTER TABLE "sales"."pipekit_staging__orders" ALTER COLUMN "dss_run_id" SET DEFAULT 42;
-- prepare
ALTER TABLE "sales"."pipekit_staging__orders" ALTER COLUMN "dss_record_source" SET DEFAULT 'it''s/orders';
-- finish
ALTER TABLE "sales"."pipekit_staging__orders" ALTER COLUMN "dss_load_date" DROP DEFAULT;
-- finish
ALTER TABLE "sales"."pipekit_staging__orders" ALTER COLUMN "dss_run_id" DROP DEFAULT;
-- finish
ALTER TABLE "sales"."pipekit_staging__orders" ALTER COLUMN "dss_record_source" DROP DEFAULT;
-- schema
CREATE SCHEMA IF NOT EXISTS "sales";
-- swap
ALTER TABLE "sales"."pipekit_staging__orders" RENAME TO "orders";
-- grant
GRANT SELECT ON "sales"."orders" TO "reporting";
-- comment
COMMENT ON TABLE "sales"."orders" IS 'Orders, refreshed nightly';
