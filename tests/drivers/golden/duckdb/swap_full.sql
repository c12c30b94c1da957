-- golden SQL: duckdb / swap_full, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: full
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
