-- golden SQL: postgresql / swap_audit_add_column, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: full
-- schema change: added column ratio double precision to sales.orders
-- schema change: added column active boolean to sales.orders
-- schema change: added column born date to sales.orders
-- schema change: added column updated_at timestamptz(6) to sales.orders
-- schema change: added column seen_at timestamp(6) to sales.orders
-- schema change: added column ref uuid to sales.orders
-- schema change: added column doc json to sales.orders
-- schema change: added column blob bytea to sales.orders
-- schema change: added column _pipekit_loaded_at timestamptz(6) to sales.orders
-- schema change: added column _pipekit_run_id bigint to sales.orders
-- prepare
DROP TABLE IF EXISTS "pipekit_staging"."orders";
-- prepare
CREATE TABLE "pipekit_staging"."orders" (LIKE "sales"."orders" INCLUDING CONSTRAINTS INCLUDING COMMENTS INCLUDING STORAGE INCLUDING COMPRESSION);
-- prepare
ALTER TABLE "pipekit_staging"."orders" ADD COLUMN "ratio" double precision;
-- prepare
ALTER TABLE "pipekit_staging"."orders" ADD COLUMN "active" boolean;
-- prepare
ALTER TABLE "pipekit_staging"."orders" ADD COLUMN "born" date;
-- prepare
ALTER TABLE "pipekit_staging"."orders" ADD COLUMN "updated_at" timestamptz(6);
-- prepare
ALTER TABLE "pipekit_staging"."orders" ADD COLUMN "seen_at" timestamp(6);
-- prepare
ALTER TABLE "pipekit_staging"."orders" ADD COLUMN "ref" uuid;
-- prepare
ALTER TABLE "pipekit_staging"."orders" ADD COLUMN "doc" json;
-- prepare
ALTER TABLE "pipekit_staging"."orders" ADD COLUMN "blob" bytea;
-- prepare
ALTER TABLE "pipekit_staging"."orders" ADD COLUMN "_pipekit_loaded_at" timestamptz(6);
-- prepare
ALTER TABLE "pipekit_staging"."orders" ADD COLUMN "_pipekit_run_id" bigint;
-- prepare
ALTER TABLE "pipekit_staging"."orders" ALTER COLUMN "_pipekit_loaded_at" SET DEFAULT CAST('2024-03-01 12:30:00.123456+00:00' AS TIMESTAMPTZ(6));
-- prepare
ALTER TABLE "pipekit_staging"."orders" ALTER COLUMN "_pipekit_run_id" SET DEFAULT 42;
-- finish
ALTER TABLE "pipekit_staging"."orders" ALTER COLUMN "_pipekit_loaded_at" DROP DEFAULT;
-- finish
ALTER TABLE "pipekit_staging"."orders" ALTER COLUMN "_pipekit_run_id" DROP DEFAULT;
-- finish
ALTER TABLE "pipekit_staging"."orders" ADD CONSTRAINT "pipekit_swap_42_pkey" PRIMARY KEY ("id");
-- schema
CREATE SCHEMA IF NOT EXISTS "sales";
-- lock
LOCK TABLE "sales"."orders" IN ACCESS EXCLUSIVE MODE;
-- swap
DROP TABLE "sales"."orders";
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
