-- golden SQL: sqlite / first_load_append, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: append
-- schema change: created table sales.orders
-- ddl
CREATE TABLE "sales"."orders" ("id" BIGINT, "name" TEXT, "amount" DECIMAL_TEXT(18,2), "ratio" DOUBLE, "active" BOOLEAN, "born" DATE, "updated_at" TIMESTAMPTZ, "seen_at" TIMESTAMP, "ref" UUID, "doc" JSON_TEXT, "blob" BLOB);
-- insert
INSERT INTO "sales"."orders" ("id", "name", "amount", "ratio", "active", "born", "updated_at", "seen_at", "ref", "doc", "blob") SELECT s."id", s."name", s."amount", s."ratio", s."active", s."born", s."updated_at", s."seen_at", s."ref", s."doc", s."blob" FROM "sales"."pipekit_staging__orders" s;
