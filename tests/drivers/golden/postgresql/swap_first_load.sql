-- golden SQL: postgresql / swap_first_load, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: incremental
-- schema change: created table sales.orders
-- prepare
DROP TABLE IF EXISTS "pipekit_staging"."orders";
-- prepare
CREATE TABLE "pipekit_staging"."orders" ("id" bigint, "name" text, "amount" numeric(18,2), "ratio" double precision, "active" boolean, "born" date, "updated_at" timestamptz(6), "seen_at" timestamp(6), "ref" uuid, "doc" json, "blob" bytea);
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
