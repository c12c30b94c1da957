-- golden SQL: duckdb / swap_audit_add_column, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: full
-- schema change: added column ratio DOUBLE to sales.orders
-- schema change: added column active BOOLEAN to sales.orders
-- schema change: added column born DATE to sales.orders
-- schema change: added column updated_at TIMESTAMPTZ to sales.orders
-- schema change: added column seen_at TIMESTAMP to sales.orders
-- schema change: added column ref UUID to sales.orders
-- schema change: added column doc JSON to sales.orders
-- schema change: added column blob BLOB to sales.orders
-- schema change: added column _pipekit_loaded_at TIMESTAMPTZ to sales.orders
-- schema change: added column _pipekit_run_id BIGINT to sales.orders
-- prepare
DROP TABLE IF EXISTS "sales"."pipekit_staging__orders";
-- prepare
CREATE TABLE "sales"."pipekit_staging__orders" AS SELECT * FROM "sales"."orders" LIMIT 0;
-- prepare
ALTER TABLE "sales"."pipekit_staging__orders" ALTER COLUMN "id" SET NOT NULL;
-- prepare
ALTER TABLE "sales"."pipekit_staging__orders" ALTER COLUMN "name" SET DEFAULT 'n/a';
-- prepare
COMMENT ON COLUMN "sales"."pipekit_staging__orders"."name" IS 'who ordered';
-- prepare
ALTER TABLE "sales"."pipekit_staging__orders" ADD COLUMN "ratio" DOUBLE;
-- prepare
ALTER TABLE "sales"."pipekit_staging__orders" ADD COLUMN "active" BOOLEAN;
-- prepare
ALTER TABLE "sales"."pipekit_staging__orders" ADD COLUMN "born" DATE;
-- prepare
ALTER TABLE "sales"."pipekit_staging__orders" ADD COLUMN "updated_at" TIMESTAMPTZ;
-- prepare
ALTER TABLE "sales"."pipekit_staging__orders" ADD COLUMN "seen_at" TIMESTAMP;
-- prepare
ALTER TABLE "sales"."pipekit_staging__orders" ADD COLUMN "ref" UUID;
-- prepare
ALTER TABLE "sales"."pipekit_staging__orders" ADD COLUMN "doc" JSON;
-- prepare
ALTER TABLE "sales"."pipekit_staging__orders" ADD COLUMN "blob" BLOB;
-- prepare
ALTER TABLE "sales"."pipekit_staging__orders" ADD COLUMN "_pipekit_loaded_at" TIMESTAMPTZ;
-- prepare
ALTER TABLE "sales"."pipekit_staging__orders" ADD COLUMN "_pipekit_run_id" BIGINT;
-- prepare
ALTER TABLE "sales"."pipekit_staging__orders" ALTER COLUMN "_pipekit_loaded_at" SET DEFAULT CAST('2024-03-01 12:30:00.123456+00:00' AS TIMESTAMPTZ);
-- prepare
ALTER TABLE "sales"."pipekit_staging__orders" ALTER COLUMN "_pipekit_run_id" SET DEFAULT 42;
-- finish
ALTER TABLE "sales"."pipekit_staging__orders" ALTER COLUMN "_pipekit_loaded_at" DROP DEFAULT;
-- finish
ALTER TABLE "sales"."pipekit_staging__orders" ALTER COLUMN "_pipekit_run_id" DROP DEFAULT;
-- finish
ALTER TABLE "sales"."pipekit_staging__orders" ADD PRIMARY KEY ("id");
-- schema
CREATE SCHEMA IF NOT EXISTS "sales";
-- swap
DROP TABLE "sales"."orders";
-- swap
ALTER TABLE "sales"."pipekit_staging__orders" RENAME TO "orders";
-- grant
GRANT SELECT ON "sales"."orders" TO "reporting";
-- comment
COMMENT ON TABLE "sales"."orders" IS 'Orders, refreshed nightly';
