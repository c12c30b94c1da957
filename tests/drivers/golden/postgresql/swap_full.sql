-- golden SQL: postgresql / swap_full, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: full
-- prepare
DROP TABLE IF EXISTS "pipekit_staging"."orders";
-- prepare
CREATE TABLE "pipekit_staging"."orders" (LIKE "sales"."orders" INCLUDING CONSTRAINTS INCLUDING COMMENTS INCLUDING STORAGE INCLUDING COMPRESSION);
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
