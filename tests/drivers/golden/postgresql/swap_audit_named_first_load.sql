-- golden SQL: postgresql / swap_audit_named_first_load, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: full
-- schema change: created table sales.orders
-- prepare
DROP TABLE IF EXISTS "pipekit_staging"."orders";
-- prepare
CREATE TABLE "pipekit_staging"."orders" ("id" bigint, "name" text, "amount" numeric(18,2), "ratio" double precision, "active" boolean, "born" date, "updated_at" timestamptz(6), "seen_at" timestamp(6), "ref" uuid, "doc" json, "blob" bytea, "dss_load_date" timestamptz(6), "dss_run_id" bigint, "dss_record_source" text);
-- prepare
ALTER TABLE "pipekit_staging"."orders" ALTER COLUMN "dss_load_date" SET DEFAULT CAST('2024-03-01 12:30:00.123456+00:00' AS TIMESTAMPTZ(6));
-- prepare
ALTER TABLE "pipekit_staging"."orders" ALTER COLUMN "dss_run_id" SET DEFAULT 42;
-- prepare
ALTER TABLE "pipekit_staging"."orders" ALTER COLUMN "dss_record_source" SET DEFAULT 'it''s/orders';
-- finish
ALTER TABLE "pipekit_staging"."orders" ALTER COLUMN "dss_load_date" DROP DEFAULT;
-- finish
ALTER TABLE "pipekit_staging"."orders" ALTER COLUMN "dss_run_id" DROP DEFAULT;
-- finish
ALTER TABLE "pipekit_staging"."orders" ALTER COLUMN "dss_record_source" DROP DEFAULT;
-- finish
ALTER TABLE "pipekit_staging"."orders" ADD CONSTRAINT "pipekit_swap_42_pkey" PRIMARY KEY ("id");
-- schema
CREATE SCHEMA IF NOT EXISTS "sales";
-- swap
ALTER TABLE "pipekit_staging"."orders" RENAME TO "pipekit_swap_42";
-- swap
ALTER TABLE "pipekit_staging"."pipekit_swap_42" SET SCHEMA "sales";
-- swap
ALTER TABLE "sales"."pipekit_swap_42" RENAME TO "orders";
-- swap
ALTER TABLE "sales"."orders" RENAME CONSTRAINT "pipekit_swap_42_pkey" TO "orders_pkey";
-- grant
GRANT SELECT ON "sales"."orders" TO "reporting";
-- comment
COMMENT ON TABLE "sales"."orders" IS 'Orders, refreshed nightly';
