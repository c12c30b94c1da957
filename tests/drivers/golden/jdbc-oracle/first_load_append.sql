-- golden SQL: jdbc-oracle / first_load_append, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: append
-- schema change: created table sales.orders
-- ddl
CREATE SCHEMA "sales";
-- ddl
CREATE TABLE "sales"."orders" ("id" NUMBER(19), "name" CLOB, "amount" NUMBER(18,2), "ratio" BINARY_DOUBLE, "active" NUMBER(1), "born" DATE, "updated_at" TIMESTAMP(6) WITH TIME ZONE, "seen_at" TIMESTAMP(6), "ref" RAW(16), "doc" CLOB, "blob" BLOB);
-- insert
INSERT INTO "sales"."orders" ("id", "name", "amount", "ratio", "active", "born", "updated_at", "seen_at", "ref", "doc", "blob") SELECT s."id", s."name", s."amount", s."ratio", s."active", s."born", s."updated_at", s."seen_at", s."ref", s."doc", s."blob" FROM "pipekit_staging"."orders" s;
