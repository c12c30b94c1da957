-- golden SQL: jdbc-hsqldb / first_load_append, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: append
-- schema change: created table sales.orders
-- ddl
CREATE SCHEMA IF NOT EXISTS "sales";
-- ddl
CREATE TABLE "sales"."orders" ("id" BIGINT, "name" LONGVARCHAR, "amount" DECIMAL(18,2), "ratio" DOUBLE, "active" BOOLEAN, "born" DATE, "updated_at" TIMESTAMP(6) WITH TIME ZONE, "seen_at" TIMESTAMP(6), "ref" UUID, "doc" LONGVARCHAR, "blob" LONGVARBINARY);
-- insert
INSERT INTO "sales"."orders" ("id", "name", "amount", "ratio", "active", "born", "updated_at", "seen_at", "ref", "doc", "blob") SELECT s."id", s."name", s."amount", s."ratio", s."active", s."born", s."updated_at", s."seen_at", s."ref", s."doc", s."blob" FROM "pipekit_staging"."orders" s;
